"""Use cases: the only way to change state. One function per action, one transaction each;
authorization and the case timeline live here.

Importing the package registers the automation (R6 strategies, R7 express refund, R8.2)
with the case engine's after-move hook, so every move runs it whichever use case made it.
"""

from aftersales.services import automation as _automation  # noqa: F401  (registers the hook)
