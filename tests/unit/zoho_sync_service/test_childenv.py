"""What a run inherits, read from the project's own meltano.yml."""

from __future__ import annotations

from zoho_sync_service.childenv import Project, run_environment

from tests.support.paths import REPO

HOST = {
    "PATH": "/usr/bin",
    "HOME": "/home/etl",
    "LC_ALL": "C.UTF-8",
    "MELTANO_DATABASE_URI": "sqlite:///x.db",
    "MELTANO_ENVIRONMENT": "prod",
    "MELTANO_UTILIZE_TOKEN": "service-token",
    "ZOHO_SYNC_SERVICE_TOKEN": "service-token",
    "ZOHO_SYNC_SERVICE_CLIENT_SECRET": "channel-secret",
    "ZOHO_WEBHOOK_SECRET": "webhook-secret",
    "TAP_ZOHO_CLIENT_SECRET": "tap-secret",
    "TAP_ZOHO_PRODUCTS_API_DOMAIN": "https://www.zohoapis.eu",
    "TARGET_CLICKHOUSE_PASSWORD": "ch-secret",
    "TARGET_TSH_POSTGRES_PASSWORD": "erp-secret",
    "AWS_SECRET_ACCESS_KEY": "unrelated",
    "ERP_DSN": "postgresql://x",
}


def test_the_crm_job_gets_its_plugins_variables_meltanos_and_the_basics_only():
    project = Project.read(REPO)
    host = {k: v for k, v in HOST.items() if k != "TAP_ZOHO_PRODUCTS_API_DOMAIN"}  # TAP_ZOHO_*
    env = run_environment(host, project, "crm-to-clickhouse", ["tap-zoho"])
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/etl",
        "LC_ALL": "C.UTF-8",
        "MELTANO_DATABASE_URI": "sqlite:///x.db",
        "MELTANO_ENVIRONMENT": "prod",
        "TAP_ZOHO_CLIENT_SECRET": "tap-secret",
        "TARGET_CLICKHOUSE_PASSWORD": "ch-secret",
    }


def test_the_products_job_reads_its_parents_variables_and_its_loaders():
    project = Project.read(REPO)
    env = run_environment(HOST, project, "products-to-erp", [])
    assert env["TAP_ZOHO_CLIENT_SECRET"] == "tap-secret"  # tap-zoho-products inherits tap-zoho
    assert env["TAP_ZOHO_PRODUCTS_API_DOMAIN"] == "https://www.zohoapis.eu"
    assert env["TARGET_TSH_POSTGRES_PASSWORD"] == "erp-secret"
    assert "TARGET_CLICKHOUSE_PASSWORD" not in env


def test_referenced_and_passed_variables_go_through_and_the_services_own_never(tmp_path):
    (tmp_path / "meltano.yml").write_text(
        "include_paths: ['./more/*.yml']\n"
        "plugins:\n  loaders:\n  - name: target-x\n    config:\n      dsn: ${ERP_DSN}\n"
        "    settings:\n    - name: key\n      env: X_KEY\n"
        "jobs:\n- name: j\n  tasks:\n  - tap-y target-x:run\n"
    )
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "y.yml").write_text(
        "plugins:\n  extractors:\n  - name: tap-y\n    namespace: tap_why\n"
    )
    host = {**HOST, "X_KEY": "k", "TAP_WHY_TOKEN": "y", "TAP_Y_A": "a", "CUSTOM_CA": "pem"}
    env = run_environment(
        host,
        Project.read(tmp_path),
        "j",
        [],
        ["CUSTOM_*", "ZOHO_SYNC_SERVICE_TOKEN", "ZOHO_WEBHOOK_SECRET"],
    )
    assert env["ERP_DSN"] == "postgresql://x"
    assert env["X_KEY"] == "k"
    assert env["TAP_WHY_TOKEN"] == "y"
    assert env["TAP_Y_A"] == "a"
    assert env["CUSTOM_CA"] == "pem"
    assert not {"ZOHO_SYNC_SERVICE_TOKEN", "ZOHO_WEBHOOK_SECRET", "AWS_SECRET_ACCESS_KEY"} & set(
        env
    )


def test_an_unreadable_project_gives_the_basics_and_the_jobs_known_plugins(tmp_path):
    (tmp_path / "meltano.yml").write_text("plugins: [unclosed\n")
    env = run_environment(HOST, Project.read(tmp_path), "crm-to-clickhouse", ["tap-zoho"])
    assert env["TAP_ZOHO_CLIENT_SECRET"] == "tap-secret"
    assert "TARGET_CLICKHOUSE_PASSWORD" not in env
    assert "ZOHO_WEBHOOK_SECRET" not in env
