import * as maplibregl from "maplibre-gl";
import { type GeoJSONSource, type MapMouseEvent } from "maplibre-gl";
import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from "react";
import type { Flow, Organization, Site } from "../api";
import { ApiError } from "../api/client";
import { useAsync } from "../app/hooks";
import { loadOrgData } from "../app/orgData";
import { Link, navigate, useLocation, withQuery } from "../app/router";
import { useApi, useSession } from "../app/session";
import { categoryColour } from "../categories";
import { Empty, ErrorMessage, errorText, Notice, Spinner } from "../components/common";
import { FlowForm } from "../components/FlowForm";
import { num } from "../format";
import { S } from "../i18n";
import { TurashMap, type MapLibreMap } from "../map/TurashMap";

export function OrganizationPage() {
  const session = useSession();
  const { query, path } = useLocation();
  const orgs = session.organizations;
  const orgId = query.get("org") ?? orgs[0]?.id ?? null;
  const org = orgs.find((o) => o.id === orgId) ?? null;
  const [creating, setCreating] = useState(false);

  return (
    <div className="page page-wide org-page">
      <header className="page-head page-head-row">
        <div>
          <h1>{S.org.title}</h1>
          {orgs.length > 0 && (
            <div className="pills" role="tablist" aria-label={S.org.yours}>
              {orgs.map((o) => (
                <button key={o.id} type="button" role="tab" aria-selected={o.id === orgId} className={`pill${o.id === orgId ? " on" : ""}`}
                  onClick={() => navigate(withQuery(path, { org: o.id }), { replace: true })}>
                  {o.name} <span className="muted">· {S.org.kinds[o.kind] ?? o.kind}</span>
                </button>
              ))}
            </div>
          )}
        </div>
        {orgs.length > 0 && (
          <button type="button" className="btn btn-ghost" aria-expanded={creating} onClick={() => setCreating((c) => !c)}>
            {S.org.create}
          </button>
        )}
      </header>
      {(orgs.length === 0 || creating) && (
        <CreateOrganization
          onCreated={async (created) => {
            await session.reloadOrganizations();
            setCreating(false);
            navigate(withQuery(path, { org: created.id }), { replace: true });
          }}
        />
      )}
      {org && <OrganizationSites org={org} />}
    </div>
  );
}

function CreateOrganization({ onCreated }: { onCreated: (org: Organization) => void | Promise<void> }) {
  const api = useApi();
  const id = useId();
  const [name, setName] = useState("");
  const [kind, setKind] = useState("sme");
  const [nace, setNace] = useState("");
  const [country, setCountry] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaving(true);
    setError(null);
    setFields({});
    try {
      const org = await api.createOrganization({
        name: name.trim(),
        kind: kind as Organization["kind"] as never,
        nace: nace.trim() || null,
        country: country.trim() || null,
      });
      await onCreated(org);
    } catch (err) {
      if (err instanceof ApiError) setFields(err.fieldErrors());
      setError(err);
    } finally {
      setSaving(false);
    }
  };

  return (
    <form className="card form" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{S.org.create}</h2>
      <div className="form-grid">
        <FieldRow id={`${id}-name`} label={S.org.name} error={fields.name} wide>
          <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} required maxLength={300} aria-invalid={!!fields.name || undefined} />
        </FieldRow>
        <FieldRow id={`${id}-kind`} label={S.org.kind} error={fields.kind}>
          <select id={`${id}-kind`} value={kind} onChange={(e) => setKind(e.target.value)}>
            {Object.entries(S.org.kinds).map(([k, label]) => <option key={k} value={k}>{label}</option>)}
          </select>
        </FieldRow>
        <FieldRow id={`${id}-nace`} label={S.org.nace} error={fields.nace}>
          <input id={`${id}-nace`} value={nace} onChange={(e) => setNace(e.target.value)} placeholder="35.30" />
        </FieldRow>
        <FieldRow id={`${id}-country`} label={S.org.country} error={fields.country}>
          <input id={`${id}-country`} value={country} onChange={(e) => setCountry(e.target.value)} placeholder="DK" maxLength={60} />
        </FieldRow>
      </div>
      {error && !Object.keys(fields).length ? <ErrorMessage error={error} /> : null}
      <div className="button-row">
        <button type="submit" className="btn btn-primary" disabled={saving || !name.trim()}>{S.org.create}</button>
      </div>
    </form>
  );
}

function FieldRow({ id, label, error, wide, children }: { id: string; label: string; error?: string; wide?: boolean; children: React.ReactNode }) {
  return (
    <div className={`field${error ? " has-error" : ""}${wide ? " wide" : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {error && <span className="field-error">{error}</span>}
    </div>
  );
}

function OrganizationSites({ org }: { org: Organization }) {
  const api = useApi();
  const data = useAsync(() => loadOrgData(api, org.id), [api, org.id]);
  const [siteId, setSiteId] = useState<string | null>(null);
  const [pick, setPick] = useState<[number, number] | null>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);

  const sites = data.data?.sites ?? [];
  const flows = data.data?.flows ?? [];
  const site = sites.find((s) => s.id === siteId) ?? sites[0] ?? null;
  const siteFlows = flows.filter((f) => f.site_id === site?.id);

  const remove = async (kind: "site" | "flow", id: string) => {
    if (confirm !== id) {
      setConfirm(id);
      return;
    }
    setDeleteError(null);
    try {
      if (kind === "site") await api.deleteSite(id);
      else await api.deleteFlow(id);
      setConfirm(null);
      await data.reload();
    } catch (err) {
      setDeleteError(err);
    }
  };

  if (data.loading && !data.data) return <Spinner />;
  return (
    <div className="org-grid">
      <section className="card" aria-labelledby="sites-title">
        <h2 id="sites-title">{S.org.sites} <span className="count">{sites.length}</span></h2>
        <ErrorMessage error={data.error} onRetry={() => void data.reload()} />
        <SitePicker sites={sites} selected={site?.id ?? null} pick={pick} onPick={setPick} onSelect={setSiteId} />
        {sites.length === 0 && <Empty>{S.org.noSites}</Empty>}
        <ul className="site-list">
          {sites.map((s) => (
            <li key={s.id} className={s.id === site?.id ? "selected" : ""}>
              <button type="button" className="site-item" onClick={() => setSiteId(s.id)} aria-pressed={s.id === site?.id}>
                <span className="result-name">{s.name}</span>
                <span className="result-meta">
                  {num(s.lat, 4)}, {num(s.lon, 4)} {s.nace ? `· NACE ${s.nace}` : ""} · {flows.filter((f) => f.site_id === s.id).length} {S.org.flows.toLowerCase()}
                </span>
              </button>
              <button type="button" className={`btn btn-small ${confirm === s.id ? "btn-danger" : "btn-ghost"}`} onClick={() => void remove("site", s.id)}
                aria-label={`${confirm === s.id ? S.app.confirmDelete : S.app.delete}: ${s.name}`}>
                {confirm === s.id ? S.app.confirmDelete : S.app.delete}
              </button>
            </li>
          ))}
        </ul>
        <ErrorMessage error={deleteError} />
        <SiteForm org={org} pick={pick} onPick={setPick} onCreated={async (s) => {
          await data.reload();
          setSiteId(s.id);
          setPick(null);
        }} />
      </section>

      <section className="card" aria-labelledby="flows-title">
        <h2 id="flows-title">
          {S.org.flows} {site && <span className="muted">· {site.name}</span>}
        </h2>
        {!site && <Empty>{S.org.selectSite}</Empty>}
        {site && (
          <>
            {siteFlows.length === 0 && <p className="muted">{S.org.noFlows}</p>}
            <ul className="flow-list">
              {siteFlows.map((f) => (
                <FlowRow key={f.id} flow={f} confirming={confirm === f.id} onDelete={() => void remove("flow", f.id)} />
              ))}
            </ul>
            {saved && <Notice tone="success">{S.org.created}</Notice>}
            <h3>{S.org.addFlow}</h3>
            <FlowForm siteId={site.id} onCreated={async () => {
              setSaved(true);
              window.setTimeout(() => setSaved(false), 3000);
              await data.reload();
            }} />
          </>
        )}
      </section>
    </div>
  );
}

function FlowRow({ flow, confirming, onDelete }: { flow: Flow; confirming: boolean; onDelete: () => void }) {
  return (
    <li className="flow-row">
      <span className="dot" style={{ background: categoryColour(flow.category) }} aria-hidden="true" />
      <span className={`dir dir-${flow.direction}`}>{S.directions[flow.direction] ?? flow.direction}</span>
      <span className="flow-text">
        <strong>{flow.resource}</strong>
        <span className="muted">
          {[flow.quantity != null ? `${num(flow.quantity)} ${flow.unit ?? ""}` : null,
            flow.temperature_c != null ? `${num(flow.temperature_c)} °C` : null,
            flow.ewc_code ? `EWC ${flow.ewc_code}` : null,
            flow.schedule, S.categories[flow.category ?? "none"]].filter(Boolean).join(" · ")}
        </span>
      </span>
      <Link className="btn btn-small btn-ghost" to={withQuery("/matches", { flow: flow.id })}>{S.org.flowMatches}</Link>
      <button type="button" className={`btn btn-small ${confirming ? "btn-danger" : "btn-ghost"}`} onClick={onDelete}
        aria-label={`${confirming ? S.app.confirmDelete : S.app.delete}: ${flow.resource}`}>
        {confirming ? S.app.confirmDelete : S.app.delete}
      </button>
    </li>
  );
}

function SiteForm({ org, pick, onPick, onCreated }: {
  org: Organization;
  pick: [number, number] | null;
  onPick: (p: [number, number] | null) => void;
  onCreated: (site: Site) => void | Promise<void>;
}) {
  const api = useApi();
  const id = useId();
  const [name, setName] = useState("");
  const [lat, setLat] = useState("");
  const [lon, setLon] = useState("");
  const [nace, setNace] = useState("");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    if (pick) {
      setLon(pick[0].toFixed(5));
      setLat(pick[1].toFixed(5));
    }
  }, [pick]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaving(true);
    setFields({});
    setError("");
    try {
      const site = await api.createSite(org.id, {
        name: name.trim(),
        lat: lat.trim() as unknown as number,
        lon: lon.trim() as unknown as number,
        nace: nace.trim() || null,
        country: org.country ?? null,
      });
      setName("");
      setNace("");
      await onCreated(site);
    } catch (err) {
      const byField = err instanceof ApiError ? err.fieldErrors() : {};
      setFields(byField);
      setError(Object.keys(byField).length ? "" : errorText(err));
    } finally {
      setSaving(false);
    }
  };

  return (
    <form className="form site-form" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{S.org.addSite}</h3>
      <p className="hint">{S.org.pickOnMap}</p>
      <div className="form-grid">
        <FieldRow id={`${id}-name`} label={S.org.siteName} error={fields.name} wide>
          <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} maxLength={300} />
        </FieldRow>
        <FieldRow id={`${id}-lat`} label={S.org.lat} error={fields.lat}>
          <input id={`${id}-lat`} inputMode="decimal" value={lat} onChange={(e) => { setLat(e.target.value); onPick(null); }} />
        </FieldRow>
        <FieldRow id={`${id}-lon`} label={S.org.lon} error={fields.lon}>
          <input id={`${id}-lon`} inputMode="decimal" value={lon} onChange={(e) => { setLon(e.target.value); onPick(null); }} />
        </FieldRow>
        <FieldRow id={`${id}-nace`} label={S.org.nace} error={fields.nace}>
          <input id={`${id}-nace`} value={nace} onChange={(e) => setNace(e.target.value)} placeholder="35.30" />
        </FieldRow>
      </div>
      {error && <div className="alert alert-error" role="alert">{error}</div>}
      <div className="button-row">
        <button type="submit" className="btn btn-primary" disabled={saving || !name.trim()}>{S.org.addSite}</button>
      </div>
    </form>
  );
}

/** The organisation's sites on a small map; a click places the new site. */
function SitePicker({ sites, selected, pick, onPick, onSelect }: {
  sites: Site[];
  selected: string | null;
  pick: [number, number] | null;
  onPick: (p: [number, number]) => void;
  onSelect: (id: string) => void;
}) {
  const [map, setMap] = useState<MapLibreMap | null>(null);
  const marker = useRef<maplibregl.Marker | null>(null);
  const handlers = useRef({ onPick, onSelect });
  handlers.current = { onPick, onSelect };

  const onReady = useCallback((m: MapLibreMap) => {
    m.addSource("org-sites", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    m.addLayer({
      id: "org-sites",
      type: "circle",
      source: "org-sites",
      paint: {
        "circle-radius": ["case", ["==", ["get", "selected"], 1], 9, 6.5],
        "circle-color": ["case", ["==", ["get", "selected"], 1], "#0b3d2e", "#12b886"],
        "circle-stroke-color": "#fff",
        "circle-stroke-width": 2,
      },
    });
    m.on("click", (e: MapMouseEvent) => {
      const hit = m.queryRenderedFeatures(e.point, { layers: ["org-sites"] })[0];
      if (hit) handlers.current.onSelect(String(hit.properties?.id));
      else handlers.current.onPick([e.lngLat.lng, e.lngLat.lat]);
    });
    m.getCanvas().style.cursor = "crosshair";
    setMap(m);
  }, []);

  useEffect(() => {
    if (!map) return;
    (map.getSource("org-sites") as GeoJSONSource).setData({
      type: "FeatureCollection",
      features: sites.map((s) => ({
        type: "Feature",
        properties: { id: s.id, selected: s.id === selected ? 1 : 0 },
        geometry: { type: "Point", coordinates: [s.lon, s.lat] },
      })),
    });
  }, [map, sites, selected]);

  const siteKey = sites.map((s) => s.id).join(",");
  useEffect(() => {
    if (!map || sites.length === 0) return;
    const b = new maplibregl.LngLatBounds();
    for (const s of sites) b.extend([s.lon, s.lat]);
    map.fitBounds(b, { padding: 50, maxZoom: 8.5, duration: 0 });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [map, siteKey]);

  useEffect(() => {
    if (!map) return;
    if (!pick) {
      marker.current?.remove();
      marker.current = null;
      return;
    }
    if (!marker.current) marker.current = new maplibregl.Marker({ color: "#e8590c" }).setLngLat(pick).addTo(map);
    else marker.current.setLngLat(pick);
  }, [map, pick]);

  return <TurashMap onReady={onReady} label={S.org.pickOnMap} className="map-card" />;
}
