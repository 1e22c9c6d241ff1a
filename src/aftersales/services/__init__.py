"""Use cases: the only way to change state. One function per action, one transaction each;
authorization and the case timeline live here."""
