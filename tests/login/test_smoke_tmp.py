from tests.conftest import bearer, log_in, sign_up


def test_sign_up_and_log_in(client):
    account = sign_up(client, email="hana@example.com", phone="090-1234-5678")
    assert account["username"] == "hana"
    token = log_in(client, "hana@example.com")
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.json()["phone"] == "+819012345678"
    assert log_in(client, "09012345678")
    page = client.get("/login")
    assert page.status_code == 200
