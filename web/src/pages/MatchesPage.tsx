import { useEffect, useMemo, useState } from "react";
import type { Match } from "../api";
import { useAsync } from "../app/hooks";
import { loadOrgData } from "../app/orgData";
import { Link, navigate, useLocation, withQuery } from "../app/router";
import { useApi, useSession } from "../app/session";
import { Empty, ErrorMessage, Notice, Spinner } from "../components/common";
import { MatchCard } from "../components/MatchCard";
import { S } from "../i18n";
import { locateMatches } from "../map/locations";
import { MatchMap } from "../map/MatchMap";

export function MatchesPage() {
  const api = useApi();
  const session = useSession();
  const { query, path } = useLocation();
  const orgs = session.organizations;
  const flowId = query.get("flow");
  const orgId = query.get("org") ?? orgs[0]?.id ?? null;
  const radius = Number(query.get("radius") ?? 50) || 50;
  const top = Number(query.get("top") ?? 5) || 5;
  const [radiusInput, setRadiusInput] = useState(String(radius));
  const [topInput, setTopInput] = useState(String(top));
  const [selected, setSelected] = useState<string | null>(null);
  const [hover, setHover] = useState<string | null>(null);
  useEffect(() => setRadiusInput(String(radius)), [radius]);
  useEffect(() => setTopInput(String(top)), [top]);

  const setQuery = (changes: Record<string, string | number | null>) => {
    const next: Record<string, string | number | null> = {
      org: query.get("org"),
      flow: flowId,
      radius: query.get("radius"),
      top: query.get("top"),
      ...changes,
    };
    navigate(withQuery(path, next), { replace: true });
  };

  const orgData = useAsync(async () => (orgId ? loadOrgData(api, orgId) : null), [api, orgId]);

  const matches = useAsync(async (): Promise<Match[]> => {
    const params = { top, radius_km: radius };
    if (flowId) return (await api.flowMatches(flowId, params)).matches as Match[];
    if (orgId) return (await api.organizationMatches(orgId, params)).matches as Match[];
    return [];
  }, [api, flowId, orgId, radius, top]);

  const list = useMemo(() => matches.data ?? [], [matches.data]);
  const located = useAsync(async () => {
    if (orgData.loading) return new Map<string, [[number, number], [number, number]]>();
    return locateMatches(api, list);
  }, [api, list, orgData.loading]);
  const locations = located.data ?? new Map<string, [[number, number], [number, number]]>();
  const unlocated = list.length - list.filter((m) => locations.has(m.id)).length;

  const selectMatch = (id: string) => {
    setSelected((s) => (s === id ? null : id));
    document.querySelector(`[data-match-id="${CSS.escape(id)}"]`)?.scrollIntoView({ block: "nearest", behavior: "smooth" });
  };

  if (orgs.length === 0 && !flowId) {
    return (
      <div className="page page-narrow">
        <h1>{S.matches.title}</h1>
        <Notice>{S.matches.noOrg}</Notice>
        <Link className="btn btn-primary" to="/org">{S.matches.goOrg}</Link>
      </div>
    );
  }

  const flows = orgData.data?.flows ?? [];
  return (
    <div className="split-page">
      <section className="split-list" aria-labelledby="matches-title">
        <header className="page-head">
          <h1 id="matches-title">{S.matches.title}</h1>
          <p className="muted">{S.matches.subtitle}</p>
        </header>
        <form className="toolbar" onSubmit={(e) => {
          e.preventDefault();
          setQuery({ radius: Number(radiusInput) || 50, top: Number(topInput) || 5 });
        }}>
          {orgs.length > 0 && (
            <div className="field">
              <label htmlFor="match-org">{S.matches.organisation}</label>
              <select id="match-org" value={orgId ?? ""} onChange={(e) => setQuery({ org: e.target.value, flow: null })}>
                {orgs.map((o) => (
                  <option key={o.id} value={o.id}>{o.name}</option>
                ))}
              </select>
            </div>
          )}
          <div className="field">
            <label htmlFor="match-flow">{S.matches.flow}</label>
            <select id="match-flow" value={flowId ?? ""} onChange={(e) => setQuery({ flow: e.target.value || null })}>
              <option value="">{S.matches.allFlows}</option>
              {flowId && !flows.some((f) => f.id === flowId) && <option value={flowId}>{flowId}</option>}
              {flows.map((f) => (
                <option key={f.id} value={f.id}>
                  {S.directions[f.direction]}: {f.resource} ({f.site})
                </option>
              ))}
            </select>
          </div>
          <div className="field field-small">
            <label htmlFor="match-radius">{S.matches.radius}</label>
            <input id="match-radius" type="number" min={1} max={2000} value={radiusInput} onChange={(e) => setRadiusInput(e.target.value)} />
          </div>
          <div className="field field-small">
            <label htmlFor="match-top">{S.matches.top}</label>
            <input id="match-top" type="number" min={1} max={100} value={topInput} onChange={(e) => setTopInput(e.target.value)} />
          </div>
          <button type="submit" className="btn btn-ghost">{S.matches.refresh}</button>
        </form>

        <ErrorMessage error={matches.error} onRetry={() => void matches.reload()} />
        {matches.loading && <Spinner />}
        {!matches.loading && !matches.error && list.length === 0 && <Empty>{S.matches.none}</Empty>}
        {list.length > 0 && (
          <p className="muted list-count" role="status">
            {S.matches.count(list.length)}
            {unlocated > 0 && !located.loading && <> · {S.matches.unlocated(unlocated)}</>}
          </p>
        )}
        <div className="match-list">
          {list.map((m, i) => (
            <MatchCard key={m.id} match={m} rank={i + 1} selected={selected === m.id}
              onSelect={() => selectMatch(m.id)} onHover={(on) => setHover(on ? m.id : null)} />
          ))}
        </div>
      </section>
      <section className="split-map" aria-label={S.matches.showOnMap}>
        <MatchMap matches={list} locations={locations} selectedId={selected} hoverId={hover} onSelect={selectMatch} className="map-full" />
      </section>
    </div>
  );
}
