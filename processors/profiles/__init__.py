"""Enterprise and person profiles: the model, the pure reducers, and the stores."""
