"""The workers' user, made by the deploy's SQL on a real PostgreSQL server set up as Aurora is (a master that is
no superuser, RDS's rds_iam role): what the workers may do, what they may not, and that running it again is
harmless and heals what was changed by hand."""

from __future__ import annotations

import pytest

from shared.config.data import AuroraConfig
from shared.database.app_user import grants_digest, grants_sql
from tests.support import postgres

pytestmark = pytest.mark.xdist_group("postgres")  # one server for the module, on one worker

AURORA = AuroraConfig()
MASTER, APP, SCHEMA, DB = AURORA.master_username, AURORA.app_user, AURORA.app_schema, AURORA.database_name


@pytest.fixture(scope="module")
def server():
    yield from postgres.start(MASTER, DB)


@pytest.fixture(scope="module")
def granted(server):
    """The deploy's SQL run as the master user, as the Data API runs it: then a table the migrations make."""
    server.value(grants_sql(AURORA), user=MASTER, database=DB)
    server.value(f"CREATE TABLE {SCHEMA}.jobs (id serial PRIMARY KEY, state text)", user=MASTER, database=DB)
    server.value("CREATE SCHEMA private; CREATE TABLE private.notes (note text)", user=MASTER, database=DB)
    return server


def as_app(server, sql):
    return server.psql(sql, user=APP, database=DB)


def denied(result) -> bool:
    return result.returncode != 0 and "permission denied" in result.stderr


def test_the_user_is_a_plain_login_with_iam_and_no_password(granted):
    row = granted.value(
        "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, "
        f"rolpassword IS NULL FROM pg_authid WHERE rolname = '{APP}'"
    )
    assert row == "t|f|f|f|f|f|t"
    assert granted.value(f"SELECT pg_has_role('{APP}', 'rds_iam', 'member')") == "t"


def test_the_workers_read_and_write_their_schema_tables_made_after_the_grants(granted):
    assert as_app(granted, "INSERT INTO jobs (state) VALUES ('queued')").returncode == 0  # search_path: the schema
    assert as_app(granted, "UPDATE jobs SET state = 'done'").returncode == 0
    assert granted.value("SELECT state FROM jobs", user=APP, database=DB) == "done"
    assert as_app(granted, "DELETE FROM jobs").returncode == 0


@pytest.mark.parametrize(
    "sql",
    [
        "TRUNCATE jobs",
        "DROP TABLE jobs",
        "ALTER TABLE jobs ADD COLUMN x int",
        f"CREATE TABLE {SCHEMA}.mine (x int)",
        "CREATE TABLE public.mine (x int)",
        "SELECT * FROM private.notes",
        "CREATE ROLE someone",
        "CREATE DATABASE another",
    ],
)
def test_the_workers_may_do_nothing_else(granted, sql):
    result = as_app(granted, sql)
    assert result.returncode != 0, f"{APP} could: {sql}"
    assert "permission denied" in result.stderr or "must be owner" in result.stderr, result.stderr


def test_running_it_again_changes_nothing_and_heals_what_was_changed_by_hand(granted):
    granted.value(f"ALTER ROLE {APP} CREATEDB PASSWORD 'guessable'")
    granted.value(f"GRANT CREATE ON SCHEMA {SCHEMA} TO {APP}", database=DB)
    granted.value(f"GRANT TRUNCATE ON {SCHEMA}.jobs TO {APP}", database=DB)
    granted.value(grants_sql(AURORA), user=MASTER, database=DB)
    granted.value(grants_sql(AURORA), user=MASTER, database=DB)
    assert granted.value(f"SELECT rolcreatedb, rolpassword IS NULL FROM pg_authid WHERE rolname = '{APP}'") == "f|t"
    assert denied(as_app(granted, f"CREATE TABLE {SCHEMA}.mine (x int)"))
    assert denied(as_app(granted, "TRUNCATE jobs"))
    assert as_app(granted, "SELECT count(*) FROM jobs").returncode == 0


def test_a_failure_anywhere_leaves_nothing_half_done(server):
    """The Data API runs the block as one statement: a failure after the role is made takes the role back too."""
    broken = AuroraConfig(app_user="half_made", database_name="no_such_database")
    result = server.psql(grants_sql(broken), user=MASTER, database=DB)
    assert result.returncode != 0 and "no_such_database" in result.stderr
    assert server.value("SELECT count(*) FROM pg_roles WHERE rolname = 'half_made'") == "0"


def test_a_keyword_is_a_name_like_any_other(server):
    keyword = AuroraConfig(app_user="user", app_schema="select")
    server.value(grants_sql(keyword), user=MASTER, database=DB)
    assert server.value("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'user'") == "t"


def test_the_digest_follows_the_sql():
    assert grants_digest(AURORA) == grants_digest(AuroraConfig())
    assert grants_digest(AURORA) != grants_digest(AuroraConfig(app_schema="media"))


def test_a_membership_given_by_hand_is_taken_back(granted):
    granted.value(f"GRANT {MASTER} TO {APP}")
    assert as_app(granted, f"SET ROLE {MASTER}").returncode == 0
    granted.value(grants_sql(AURORA), user=MASTER, database=DB)
    assert as_app(granted, f"SET ROLE {MASTER}").returncode != 0
    assert granted.value(f"SELECT pg_has_role('{APP}', 'rds_iam', 'member')") == "t"


def test_a_table_the_master_does_not_own_stops_it_before_anything_changes(granted):
    """The workers could drop a table of their own, and the master may grant on none it does not own: named, and
    the whole statement refused, so what was set by hand before stays for the person who reads the message."""
    granted.value(f"GRANT CREATE ON SCHEMA {SCHEMA} TO {APP}", database=DB)
    assert as_app(granted, f"CREATE TABLE {SCHEMA}.mine (x int)").returncode == 0
    granted.value(f"ALTER ROLE {APP} CREATEDB")
    refused = granted.psql(grants_sql(AURORA), user=MASTER, database=DB)
    assert refused.returncode != 0
    assert f"in schema {SCHEMA}, only {MASTER} may own tables" in refused.stderr
    assert f"table {SCHEMA}.mine (owner {APP})" in refused.stderr
    assert granted.value(f"SELECT rolcreatedb FROM pg_roles WHERE rolname = '{APP}'") == "t"  # nothing ran
    granted.value(f"DROP TABLE {SCHEMA}.mine", database=DB)
    granted.value(grants_sql(AURORA), user=MASTER, database=DB)
    assert denied(as_app(granted, f"CREATE TABLE {SCHEMA}.mine (x int)"))


def test_a_schema_owned_by_another_role_is_named_with_the_fix(server):
    server.value("CREATE ROLE squatter; CREATE SCHEMA media AUTHORIZATION squatter", database=DB)
    refused = server.psql(grants_sql(AuroraConfig(app_schema="media")), user=MASTER, database=DB)
    assert refused.returncode != 0
    assert f"schema media is owned by squatter, not by {MASTER}" in refused.stderr
    assert f'ALTER SCHEMA "media" OWNER TO {MASTER}' in refused.stderr
