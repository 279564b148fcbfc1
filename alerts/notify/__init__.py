"""Delivery channels for alert changes (Alertmanager's ``notify/``): one module per channel.

::

    base.py        Delivery, Outcome, Reason, the Notifier protocol (one ``deliver()``)
    webhook.py     WebhookNotifier and the Standard Webhooks ``sign`` / ``verify``
    egress.py      where webhooks may go: the address policy, checked on every connection
    endpoints.py   a department's webhook endpoints, their secrets sealed at rest
    sealing.py     authenticated encryption of those secrets with a deployment key
    queue.py       the persisted delivery queue in Redis, the delivery log, the dead letters
    memory.py      the same queue in memory, for unit tests
    deliveries.py  DeliveryScheduler: alert feed -> queue, and due deliveries -> notifier
    limits.py      RetryPolicy and Limits (per endpoint, per department, in all)
    inbound.py     bureau feedback, signed like our webhooks, into the alert's timeline
    metrics.py     the channel metrics (bounded labels: notifier, state, reason)
    wiring.py      the stores for the API's lifespan, the scheduler for the worker
"""
