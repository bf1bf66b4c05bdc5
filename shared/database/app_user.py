"""The workers' database user, as one SQL statement the deploy runs as the master user after the data stack.

The workers connect as `data.aurora.app_user` by IAM database authentication: their task role may
`rds-db:connect` as that user alone, and the token it signs replaces any password. The user may read and write
the tables of `data.aurora.app_schema` and use its sequences, nothing else: the master user owns the schema and
every table in it, so the workers can neither create, alter nor drop one, and tables made later by the master
(migrations) are granted to them by default privileges.

One `DO` block, so that the RDS Data API (which runs one statement per call) runs it whole or not at all: a
PostgreSQL statement is its own transaction, and a failure anywhere in it rolls back everything before. Every
step is idempotent, and what someone may have changed by hand (a password, CREATEDB, CREATE on the schema,
TRUNCATE on a table) is set back, so running it again is how it heals.
"""

from __future__ import annotations

import hashlib

from shared.config.data import AuroraConfig

# The table privileges the workers' jobs need (read, write and delete their metadata rows), and those they never
# get: TRUNCATE empties a table in one statement past any row-level check, REFERENCES and TRIGGER change how
# other tables behave.
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
NEVER_ON_TABLES = ("TRUNCATE", "REFERENCES", "TRIGGER")
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT")
# RDS's role whose members log in with an IAM token and never with a password (it exists on every Aurora
# PostgreSQL cluster; a plain PostgreSQL server, as in the tests, must have it made first).
IAM_LOGIN_ROLE = "rds_iam"


def _ident(name: str) -> str:
    """A quoted identifier. Names come validated from the config (lowercase letters, digits and '_'), so this only
    keeps a keyword such as `user` a name; the doubling is for safety should that ever change."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def grants_sql(aurora: AuroraConfig) -> str:
    """The statement that makes `aurora.app_user` as the workers need it, in `aurora.database_name`."""
    user, schema, database = _ident(aurora.app_user), _ident(aurora.app_schema), _ident(aurora.database_name)
    tables, never, sequences = ", ".join(TABLE_PRIVILEGES), ", ".join(NEVER_ON_TABLES), ", ".join(SEQUENCE_PRIVILEGES)
    master_owned = (
        f"SELECT string_agg(format('%s %I.%I (owner %I)', CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN "
        "'view' ELSE 'table' END, n.nspname, c.relname, pg_get_userbyid(c.relowner)), ', ' ORDER BY c.relname) "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE n.nspname = {_literal(aurora.app_schema)} AND c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f') "
        "AND c.relowner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)"
    )
    body = [
        # What it cannot put back, it names and stops at, before changing anything: an object in the schema owned
        # by another role (the app user could drop or truncate one it owns; the master may grant on none of them).
        f"SELECT pg_get_userbyid(nspowner) INTO schema_owner FROM pg_catalog.pg_namespace WHERE nspname = "
        f"{_literal(aurora.app_schema)};",
        "IF schema_owner IS NOT NULL AND schema_owner <> current_user THEN",
        f"  RAISE EXCEPTION 'schema {aurora.app_schema} is owned by %, not by %: as its owner or a superuser, run "
        f"ALTER SCHEMA {schema} OWNER TO %, then deploy again', schema_owner, current_user, current_user;",
        "END IF;",
        f"{master_owned} INTO unowned;",
        "IF unowned IS NOT NULL THEN",
        f"  RAISE EXCEPTION 'in schema {aurora.app_schema}, only % may own tables, views and sequences, for the "
        f"workers to get exactly their privileges: %; give each to % (ALTER TABLE ... OWNER TO ...), or drop it, "
        f"then deploy again', current_user, unowned, current_user;",
        "END IF;",
        f"IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {_literal(aurora.app_user)}) THEN",
        f"  CREATE ROLE {user} LOGIN;",
        "END IF;",
        # A plain login, whatever was set by hand: no password (IAM tokens only), no database or role making.
        # (SUPERUSER, REPLICATION and BYPASSRLS only a superuser may give, and the master is none on RDS.)
        f"ALTER ROLE {user} WITH LOGIN NOCREATEDB NOCREATEROLE INHERIT CONNECTION LIMIT -1 PASSWORD NULL;",
        # Member of rds_iam alone: a membership given by hand (the master's, say) would lend its privileges.
        "FOR granted IN SELECT pg_get_userbyid(m.roleid) FROM pg_catalog.pg_auth_members m JOIN "
        f"pg_catalog.pg_roles r ON r.oid = m.member WHERE r.rolname = {_literal(aurora.app_user)} AND "
        f"pg_get_userbyid(m.roleid) <> {_literal(IAM_LOGIN_ROLE)} LOOP",
        f"  EXECUTE format('REVOKE %I FROM {user}', granted);",
        "END LOOP;",
        f"GRANT {_ident(IAM_LOGIN_ROLE)} TO {user};",
        f"ALTER ROLE {user} IN DATABASE {database} SET search_path = {schema};",
        f"GRANT CONNECT ON DATABASE {database} TO {user};",
        f"CREATE SCHEMA IF NOT EXISTS {schema};",
        f"REVOKE CREATE ON SCHEMA {schema} FROM {user};",
        f"GRANT USAGE ON SCHEMA {schema} TO {user};",
        f"GRANT {tables} ON ALL TABLES IN SCHEMA {schema} TO {user};",
        f"REVOKE {never} ON ALL TABLES IN SCHEMA {schema} FROM {user};",
        f"GRANT {sequences} ON ALL SEQUENCES IN SCHEMA {schema} TO {user};",
        # Tables and sequences the master makes later in the schema (migrations) are the workers' too.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {tables} ON TABLES TO {user};",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {sequences} ON SEQUENCES TO {user};",
    ]
    declare = "DECLARE\n  schema_owner text;\n  unowned text;\n  granted text;\n"
    return "DO $grants$\n" + declare + "BEGIN\n" + "\n".join(f"  {line}" for line in body) + "\nEND\n$grants$"


def grants_digest(aurora: AuroraConfig) -> str:
    """A short digest of the SQL: the data stack outputs it, so that a change to the SQL (or to the names in it)
    changes that stack's fingerprint, and the next deploy runs it again rather than skipping the stack."""
    return hashlib.sha256(grants_sql(aurora).encode()).hexdigest()[:16]
