"""Online models: features of a profile, the early-warning model, its shared Redis checkpoint.

::

    features(enterprise, people, at)  ->  EarlyWarningModel.score(x)  ->  Facts.warning
                                            (rule early_warning decides)
    label of inspection.recorded      ->  ModelStore.offer([Label(eid, x, label)])  (after deciding)
                                      ->  ModelStore.learn_queued()  (rounds, each label once)
"""
