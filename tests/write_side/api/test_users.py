from __future__ import annotations

import httpx

from tests.write_side.api.given import PASSWORD, a_user, new_user_body, unique

USERS = "/api/v1/users"


async def test_register_returns_the_user_with_location_etag_and_position(
    commands: httpx.AsyncClient,
) -> None:
    body = new_user_body(bio="Counts things")
    response = await commands.post(USERS, json=body)

    assert response.status_code == 201
    user = response.json()
    assert set(user) == {
        "id", "email", "username", "full_name", "bio", "status", "role", "created_at", "updated_at",
        "version",
    }  # fmt: skip
    assert (user["username"], user["bio"], user["status"], user["version"]) == (
        body["username"], "Counts things", "active", 1,
    )  # fmt: skip
    assert response.headers["location"] == f"{USERS}/{user['id']}"
    assert response.headers["etag"] == '"1"'
    assert int(response.headers["x-event-position"]) > 0
    assert "password" not in response.text
    assert "argon2" not in response.text


async def test_email_and_username_are_unique_case_insensitively(
    commands: httpx.AsyncClient,
) -> None:
    user = await a_user(commands)

    same_email = await commands.post(USERS, json=new_user_body(email=user["email"].upper()))
    same_name = await commands.post(USERS, json=new_user_body(username=user["username"].upper()))

    assert same_email.status_code == 409
    assert same_email.headers["content-type"] == "application/problem+json"
    assert same_email.json()["type"] == "urn:tasktrail:problem:duplicate-email"
    assert same_name.status_code == 409
    assert same_name.json()["type"] == "urn:tasktrail:problem:duplicate-username"


async def test_weak_password_is_422_naming_the_field(commands: httpx.AsyncClient) -> None:
    body = new_user_body()
    body["password"] = body["username"]

    response = await commands.post(USERS, json=body)

    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["body", "password"]
    assert "username or email" in problem["detail"]


async def test_invalid_fields_are_422_with_every_field_error(commands: httpx.AsyncClient) -> None:
    response = await commands.post(
        USERS, json={"email": "not-an-email", "username": "a b", "password": PASSWORD, "x": 1}
    )

    assert response.status_code == 422
    locations = {tuple(e["loc"]) for e in response.json()["errors"]}
    assert locations == {("body", "email"), ("body", "username"), ("body", "x")}


async def test_patch_changes_profile_and_returns_the_new_version(
    commands: httpx.AsyncClient,
) -> None:
    user = await a_user(commands)

    response = await commands.patch(f"{USERS}/{user['id']}", json={"bio": "New", "full_name": None})

    assert response.status_code == 200
    assert (response.json()["bio"], response.json()["full_name"]) == ("New", None)
    assert response.json()["version"] == 2
    assert response.headers["etag"] == '"2"'


async def test_patch_that_changes_nothing_appends_nothing(commands: httpx.AsyncClient) -> None:
    user = await a_user(commands)

    response = await commands.patch(f"{USERS}/{user['id']}", json={"full_name": user["full_name"]})

    assert response.status_code == 200
    assert response.json()["version"] == 1


async def test_changing_email_releases_the_old_one(commands: httpx.AsyncClient) -> None:
    user = await a_user(commands)
    new_email = f"{unique()}@example.com"

    response = await commands.patch(f"{USERS}/{user['id']}", json={"email": new_email})
    assert response.status_code == 200
    assert response.json()["email"] == new_email

    reused = await commands.post(USERS, json=new_user_body(email=user["email"]))
    assert reused.status_code == 201
    taken = await commands.post(USERS, json=new_user_body(email=new_email))
    assert taken.status_code == 409


async def test_changing_only_the_case_of_a_username_keeps_it(commands: httpx.AsyncClient) -> None:
    user = await a_user(commands)
    upper = user["username"].upper()

    response = await commands.patch(f"{USERS}/{user['id']}", json={"username": upper})

    assert response.status_code == 200
    assert response.json()["username"] == upper
    other = await commands.post(USERS, json=new_user_body(username=user["username"]))
    assert other.status_code == 409


async def test_patch_to_a_taken_username_is_409_and_changes_nothing(
    commands: httpx.AsyncClient,
) -> None:
    first, second = await a_user(commands), await a_user(commands)

    response = await commands.patch(
        f"{USERS}/{second['id']}", json={"username": first["username"], "bio": "x"}
    )

    assert response.status_code == 409
    unchanged = await commands.patch(f"{USERS}/{second['id']}", json={})
    assert unchanged.json()["version"] == 1


async def test_null_email_is_422(commands: httpx.AsyncClient) -> None:
    user = await a_user(commands)

    response = await commands.patch(f"{USERS}/{user['id']}", json={"email": None})

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "email"]


async def test_if_match_guards_against_stale_writes(commands: httpx.AsyncClient) -> None:
    user = await a_user(commands)
    url = f"{USERS}/{user['id']}"

    fresh = await commands.patch(url, json={"bio": "one"}, headers={"If-Match": '"1"'})
    stale = await commands.patch(url, json={"bio": "two"}, headers={"If-Match": '"1"'})
    garbage = await commands.patch(url, json={"bio": "two"}, headers={"If-Match": "abc"})

    assert fresh.status_code == 200
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert garbage.status_code == 412
    assert (await commands.patch(url, json={})).json()["bio"] == "one"


async def test_deactivate_and_activate(commands: httpx.AsyncClient) -> None:
    user = await a_user(commands)
    url = f"{USERS}/{user['id']}"

    deactivated = await commands.post(f"{url}/deactivate")
    again = await commands.post(f"{url}/deactivate")
    activated = await commands.post(f"{url}/activate")
    active_again = await commands.post(f"{url}/activate")

    assert deactivated.status_code == 204
    assert deactivated.headers["etag"] == '"2"'
    assert again.status_code == 409
    assert again.json()["type"] == "urn:tasktrail:problem:invalid-transition"
    assert activated.status_code == 204
    assert active_again.status_code == 409


async def test_password_change(commands: httpx.AsyncClient) -> None:
    user = await a_user(commands)
    url = f"{USERS}/{user['id']}/password"
    new = "Another-Sturdy-77"

    wrong = await commands.post(url, json={"current_password": "nope", "new_password": new})
    weak = await commands.post(
        url, json={"current_password": PASSWORD, "new_password": "aaaaaaaaaaaa"}
    )
    changed = await commands.post(url, json={"current_password": PASSWORD, "new_password": new})
    old_now_wrong = await commands.post(
        url, json={"current_password": PASSWORD, "new_password": new}
    )

    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["loc"] == ["body", "current_password"]
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["loc"] == ["body", "new_password"]
    assert changed.status_code == 204
    assert not changed.content
    assert old_now_wrong.status_code == 422


async def test_delete_frees_email_and_username_and_hides_the_user(
    commands: httpx.AsyncClient,
) -> None:
    user = await a_user(commands)
    url = f"{USERS}/{user['id']}"

    deleted = await commands.delete(url)

    assert deleted.status_code == 204
    assert (await commands.patch(url, json={"bio": "x"})).status_code == 404
    assert (await commands.delete(url)).status_code == 404
    again = await commands.post(
        USERS, json=new_user_body(email=user["email"], username=user["username"])
    )
    assert again.status_code == 201


async def test_unknown_user_is_404_and_bad_id_is_422(commands: httpx.AsyncClient) -> None:
    missing = await commands.post(f"{USERS}/00000000-0000-4000-8000-000000000000/deactivate")
    bad = await commands.post(f"{USERS}/not-a-uuid/deactivate")

    assert missing.status_code == 404
    assert missing.json()["title"] == "Not Found"
    assert bad.status_code == 422
