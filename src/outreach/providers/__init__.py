"""Everything that speaks to a mail provider, behind small interfaces: built only in
container.py, reached by the domains through providers.base and providers.inbox."""
