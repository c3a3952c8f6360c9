"""GraphQL over the REST services: the same data, the same access rules, argument checks, depth and cost limits,
all-or-nothing mutations."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.matching.test_endpoints import _setup
from turash.graphql.rest import camel

URL = "/api/v1/graphql"


def gql(api: Api, query: str, variables: dict[str, Any] | None = None, status: int = 200) -> dict[str, Any]:
    r = api.post(URL, json={"query": query, "variables": variables or {}})
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


def data(api: Api, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = gql(api, query, variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


def camelled(rest: dict[str, Any]) -> dict[str, Any]:
    return {camel(k): v for k, v in rest.items()}


def fields_of(rest: dict[str, Any], skip: tuple[str, ...] = ()) -> str:
    return " ".join(camel(k) for k in rest if k not in skip)


def test_without_credentials_it_is_401_like_every_route(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post(URL, json={"query": "{ me { id } }"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


def test_rest_and_graphql_agree_on_organisations_sites_and_flows(alice: Api, bob: Api) -> None:
    ids = _setup(alice, bob)
    flow = alice.get(f"/api/v1/flows/{ids['ash']['id']}").json()
    org = alice.get(f"/api/v1/organizations/{ids['plant']['id']}").json()
    site = alice.get(f"/api/v1/sites/{flow['site_id']}").json()
    query = f"""query($id: String!) {{
        flow(id: $id) {{ {fields_of(flow)}
            siteDetails {{ {fields_of(site)} }}
            organizationDetails {{ {fields_of(org)} }} }} }}"""
    got = data(alice, query, {"id": flow["id"]})["flow"]
    assert got.pop("siteDetails") == camelled(site)
    assert got.pop("organizationDetails") == camelled(org)
    assert got == camelled(flow)

    rest_page = alice.get("/api/v1/flows?direction=supply&limit=10").json()
    page = data(alice, '{ flows(direction: "supply", limit: 10) { total limit offset items { id resource } } }')
    assert page["flows"]["total"] == rest_page["total"] == 1
    assert [i["id"] for i in page["flows"]["items"]] == [i["id"] for i in rest_page["items"]]

    nested = data(
        alice,
        f'{{ organization(id: "{org["id"]}") {{ name role sites {{ total items {{ name flows '
        "{ items { resource } } } } } }",
    )
    assert nested["organization"]["role"] == "owner"
    unit = {"name": "Unit 2", "flows": {"items": [{"resource": "fly ash"}]}}
    assert nested["organization"]["sites"]["items"] == [unit]
    me = data(alice, "{ me { email organizations { name role } } }")["me"]
    assert me == {"email": alice.email, "organizations": [{"name": "Nordic Power", "role": "owner"}]}


def test_matches_and_business_case_are_the_rest_ones_with_the_same_disclosure(alice: Api, bob: Api) -> None:
    ids = _setup(alice, bob)
    [rest] = bob.get(f"/api/v1/flows/{ids['need']['id']}/matches").json()["matches"]
    query = """query($id: String!) { flow(id: $id) { matches { id score distanceKm explanation route scores
        supply { organization site flowId sector } demand { organization flowId }
        economics { npvEurBusiness: npvEur paybackYears co2AvoidedTPerYear } } } }"""
    [got] = data(bob, query, {"id": ids["need"]["id"]})["flow"]["matches"]
    assert got["id"] == rest["id"] and got["score"] == rest["score"] and got["scores"] == rest["scores"]
    assert got["distanceKm"] == rest["distance_km"] and got["explanation"] == rest["explanation"]
    # Bob has no proposal with Alice yet: her organisation is anonymous, shown by sector, in both interfaces.
    assert got["supply"]["organization"] == rest["supply"]["organization"] == "private organisation"
    assert got["supply"]["sector"] == rest["supply"]["sector"] and got["supply"]["site"] == ""
    assert got["economics"]["npvEurBusiness"] == rest["economics"]["npv_eur"]

    case = bob.get(f"/api/v1/matches/{rest['id']}/economics?discount_rate=0.06").json()
    gql_case = data(
        bob,
        "query($id: String!) { match(id: $id) { businessCase(overrides: {discount_rate: 0.06}) } }",
        {"id": rest["id"]},
    )["match"]["businessCase"]
    assert gql_case == case


def test_access_is_refused_where_rest_refuses_it(alice: Api, bob: Api, client) -> None:  # type: ignore[no-untyped-def]
    ids = _setup(alice, bob)
    outsider = Api(client, "eve@example.org")
    assert outsider.get(f"/api/v1/flows/{ids['ash']['id']}").status_code == 403
    body = gql(outsider, f'{{ flow(id: "{ids["ash"]["id"]}") {{ id resource }} }}')
    assert body["data"] == {"flow": None}
    [error] = body["errors"]
    assert error["extensions"]["status"] == 403 and error["path"] == ["flow"]
    assert outsider.get("/api/v1/matches/nonsense").status_code == 404
    body = gql(outsider, '{ match(id: "nonsense") { id } }')
    assert body["errors"][0]["extensions"]["status"] == 404
    # A field the caller may not see is null with its error; the rest of the query is answered.
    body = gql(alice, f'{{ me {{ email }} flow(id: "{ids["need"]["id"]}") {{ matches {{ id }} }} }}')
    assert body["data"] == {"me": {"email": alice.email}, "flow": None}
    [error] = body["errors"]
    assert error["extensions"]["status"] == 403 and error["path"] == ["flow"]
    # Her own flow and its site come back; Bob's private site, asked in the same query, is null with its error.
    body = gql(
        alice,
        f'{{ flow(id: "{ids["ash"]["id"]}") {{ resource siteDetails {{ name }} }} '
        f'other: site(id: "{ids["need"]["site_id"]}") {{ name }} }}',
    )
    assert body["data"] == {"flow": {"resource": "fly ash", "siteDetails": {"name": "Unit 2"}}, "other": None}
    assert [e["path"] for e in body["errors"]] == [["other"]]


def test_bad_arguments_are_named_as_rest_names_them(alice: Api, bob: Api) -> None:
    _setup(alice, bob)
    error = gql(alice, "{ flows(limit: 5000) { total } }")["errors"][0]
    assert error["extensions"]["code"] == "validation_error"
    assert error["extensions"]["details"][0]["argument"] == "limit" and "1000" in error["message"]
    error = gql(alice, "{ flows(radiusKm: 5) { total } }")["errors"][0]
    assert "lat, lon and radius_km together" in error["message"]
    error = gql(alice, '{ flows(direction: "sideways") { total } }')["errors"][0]
    assert error["extensions"]["details"][0]["argument"] == "direction"
    error = gql(alice, '{ proposals(status: "x", limit: 0) { total } }')["errors"][0]
    assert error["extensions"]["details"][0]["argument"] == "limit"


def test_documents_that_do_not_parse_or_validate_are_400_with_where(alice: Api) -> None:
    body = gql(alice, "{ flows { total ", status=400)
    assert body["errors"][0]["locations"][0]["line"] == 1 and "Syntax Error" in body["errors"][0]["message"]
    body = gql(alice, "{ flows { nonsense } }", status=400)
    assert "nonsense" in body["errors"][0]["message"]


def test_depth_and_cost_limits(alice: Api) -> None:
    inner = "id"
    for _ in range(4):  # organizations > items > 4 x (sites > items > organization) > id: 15 levels
        inner = f"sites(limit: 1) {{ items {{ organization {{ {inner} }} }} }}"
    deep = f"{{ organizations(limit: 1) {{ items {{ {inner} }} }} }}"
    body = gql(alice, deep, status=400)
    [error] = body["errors"]  # too deep, though cheap
    assert "exceeds maximum operation depth of 10" in error["message"] and error["locations"]

    costly = "{ flows(limit: 1000) { items { matches(top: 100) { businessCase } } } }"
    body = gql(alice, costly, status=400)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "query_too_costly" and error["extensions"]["limit"] == 25000
    assert error["extensions"]["cost"] > 25000
    # The same shape with small pages is allowed.
    assert "errors" not in gql(alice, "{ flows(limit: 5) { items { matches(top: 3) { businessCase } } } }")
    body = gql(
        alice,
        "query($n: Int!) { flows(limit: $n) { items { matches(top: 100) { businessCase } } } }",
        {"n": 1},
        status=400,
    )
    assert body["errors"][0]["extensions"]["code"] == "query_too_costly"  # a variable counts at its largest


def test_proposal_mutations_and_all_or_nothing(alice: Api, bob: Api) -> None:
    ids = _setup(alice, bob)
    [match] = alice.get(f"/api/v1/flows/{ids['ash']['id']}/matches").json()["matches"]
    pid = data(alice, "mutation($m: String!) { p: createProposal(matchId: $m) { id } }", {"m": match["id"]})["p"]["id"]
    # The second field fails (a draft cannot jump to agreed): the whole request is rolled back.
    failing = gql(
        alice,
        f'mutation {{ a: commentProposal(id: "{pid}", body: "first") {{ body }} '
        f'b: changeProposalStatus(id: "{pid}", status: "agreed") {{ status }} }}',
    )
    assert failing["data"] is None and failing["errors"][0]["extensions"]["status"] == 409
    assert alice.get(f"/api/v1/proposals/{pid}").json()["comments"] == []  # the comment was rolled back too

    sent = data(
        alice,
        f'mutation {{ changeProposalStatus(id: "{pid}", status: "sent", note: "have a look") '
        "{ status myRole allowedForMe } }",
    )["changeProposalStatus"]
    allowed = alice.get(f"/api/v1/proposals/{pid}").json()["allowed_for_me"]
    assert sent == {"status": "sent", "myRole": "proposer", "allowedForMe": allowed}
    accepted = data(bob, f'mutation {{ changeProposalStatus(id: "{pid}", status: "accepted") {{ status myRole }} }}')
    assert accepted["changeProposalStatus"] == {"status": "accepted", "myRole": "receiver"}
    rest = bob.get(f"/api/v1/proposals/{pid}").json()
    got = data(bob, f'{{ proposal(id: "{pid}") {{ id status disclosure supply demand history }} }}')["proposal"]
    assert got == {k: rest[k] for k in ("id", "status", "disclosure", "supply", "demand", "history")}
    assert [h["to_status"] for h in got["history"]] == ["draft", "sent", "accepted"]
    listed = data(bob, '{ proposals(status: "accepted") { total items { id } } }')["proposals"]
    assert listed == {"total": 1, "items": [{"id": pid}]}
    bad = gql(bob, f'mutation {{ changeProposalStatus(id: "{pid}", status: "bogus") {{ status }} }}')
    assert bad["errors"][0]["extensions"]["code"] == "validation_error"


def test_schema_document(alice: Api) -> None:
    r = alice.get("/api/v1/graphql/schema.graphql")
    assert r.status_code == 200 and "type Query" in r.text and "businessCase(overrides: JSON" in r.text
