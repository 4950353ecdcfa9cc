"""Every alert title, login-activity label, message status and checkup finding reaches a
Japanese reader in Japanese (they are catalog messages kept in tables, which the
project-wide scan of `_()` calls does not see)."""

from __future__ import annotations

import ast
from pathlib import Path

from mamori.core.i18n import translator
from mamori.security import present, service
from mamori.security_checkup import service as checkup
from tests.security.helpers import ANDROID_APP, IPHONE, api_log_in

CHECKUP_SOURCE = Path(checkup.__file__).read_text(encoding="utf-8")


def finding_messages() -> set[str]:
    """The titles and fixes in the checkup's Finding(...) calls (security_checkup/service.py)."""
    found = set()
    for node in ast.walk(ast.parse(CHECKUP_SOURCE)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Finding":
            for argument in node.args[2:4]:
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    found.add(argument.value)
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "change":
            assert isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            found.add(node.value.value)
    return found


def test_every_table_message_has_a_japanese_translation():
    messages = {
        *service.ALERT_TITLES.values(),
        *service.ALERT_FAMILIES.values(),
        *present.LOGIN_KINDS.values(),
        *present.MESSAGE_STATUS.values(),
        *finding_messages(),
    }
    japanese = translator("ja")

    assert len(finding_messages()) > 20
    missing = sorted(m for m in messages if japanese(m) == m)
    assert missing == []


def test_a_new_device_alert_names_the_device_in_the_users_language(client):

    response = client.post(
        "/api/v1/accounts",
        json={
            "username": "hana",
            "password": "correct horse battery staple",
            "email": "h@example.com",
        },
        headers={"Accept-Language": "ja"},
    )
    assert response.status_code == 201
    api_log_in(client, ANDROID_APP)
    api_log_in(client, IPHONE)

    [alert] = [m for m in client.get("/dev/outbox").json() if m["to"] == "h@example.com"]
    assert alert["subject"] == "見覚えのないデバイスからの新しいログイン"
    assert "iPhoneのSafari" in alert["body"]
