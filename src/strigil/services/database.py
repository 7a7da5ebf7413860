"""The database as web and cli see it: engines, the unit of work, migrations and roles.

Adapters open connections and units of work and run migrations, but never import the store;
these names are the store's own, re-exported so there is one implementation of each.
"""

from __future__ import annotations

from strigil.store.engine import is_sqlite as is_sqlite
from strigil.store.engine import make_engine as make_engine
from strigil.store.engine import make_sessionmaker as make_sessionmaker
from strigil.store.migrate import downgrade as downgrade
from strigil.store.migrate import is_current as is_current
from strigil.store.migrate import upgrade as upgrade
from strigil.store.tenancy import create_login_role as create_login_role
from strigil.store.tenancy import enter_clinic as enter_clinic
from strigil.store.tenancy import excess_privileges as excess_privileges
from strigil.store.unit_of_work import UnitOfWork as UnitOfWork
