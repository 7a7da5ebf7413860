"""The demo clinic: deterministic synthetic patients whose visits obey the safety rules.

It sits beside the web and CLI adapters, above the services: it builds its rows from the core
rules (screening, the stop rule, skin responses, dose caps, billing) and writes them in bulk.
Everything in it is invented.
"""

from strigil.demo.load import DEFAULT_SEED, DEMO_PASSWORD, DemoSummary, is_empty, load, logins

__all__ = ["DEFAULT_SEED", "DEMO_PASSWORD", "DemoSummary", "is_empty", "load", "logins"]
