"""Authorization helpers shared by the billing views."""

BILLING_GROUP = "billing"


def is_in_group(user, name):
    """Whether ``user`` belongs to the group ``name``.

    A fresh query against auth_user_groups on every call (nothing is cached on the user),
    so the answer is current when it is computed, and stale as soon as it is acted on
    unless the caller holds a lock that membership changes also take (see README.md).
    """
    return user.groups.filter(name=name).exists()
