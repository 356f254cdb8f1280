from schoolbridge.testing.auth import login_verified


def test_login_verified_passes_admin_two_factor(client, world):
    admin = world.user("a_admin")
    client.force_login(admin)
    assert client.get("/").status_code == 302  # unverified admin: sent to 2FA
    login_verified(client, admin)
    assert client.get("/").status_code == 200
