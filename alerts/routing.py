"""Which departments an alert goes to. The rule catalog's ``DEFAULT_ROUTE``
(:mod:`streams.rule_catalog`) sends each rule to the departments responsible for it;
``qianhai-authority`` sees everything.

Routing names an alert's owners (its ``departments``, which every owner sees); each
owner's subscriptions then decide whether it receives the alert on its topic, its board
and its webhooks (:func:`deliveries_for`).
"""

from __future__ import annotations

from collections.abc import Sequence

from alerts.subscriptions import SubscriptionsByDepartment, wants
from streams.alert import Alert


def deliveries_for(alert: Alert, subscriptions_by_dept: SubscriptionsByDepartment) -> set[str]:
    """The departments among the alert's owners that receive it: those without any
    subscription, and those with a subscription that the alert matches.

    A department missing from ``subscriptions_by_dept`` has no subscription.
    """
    return {d for d in alert.departments if wants(alert, subscriptions_by_dept.get(d, ()))}


def receivers_of(
    raw_alert: bytes | str, owners: Sequence[str], subscriptions_by_dept: SubscriptionsByDepartment
) -> list[str]:
    """:func:`deliveries_for` on an alert's JSON, in ``owners``' order; the alert is parsed
    only when one of its owners has subscriptions (the relay and the live board call this
    on every feed entry).

    >>> receivers_of(b"not parsed", ["tax", "qianhai-authority"], {})
    ['tax', 'qianhai-authority']
    """
    if not any(subscriptions_by_dept.get(d) for d in owners):
        return list(owners)
    receiving = deliveries_for(Alert.model_validate_json(raw_alert), subscriptions_by_dept)
    return [d for d in owners if d in receiving]
