import type { Site } from "../api";
import { useAsync } from "../app/hooks";
import { Link, withQuery } from "../app/router";
import { useApi } from "../app/session";
import { categoryColour } from "../categories";
import { num } from "../format";
import { S } from "../i18n";
import { ErrorMessage } from "./common";

const MAX = 6;

/** A site's details and flows, inside the map popup. */
export function SitePopup({ site }: { site: Site }) {
  const api = useApi();
  const flows = useAsync(() => api.siteFlows(site.id, { limit: 100 }), [site.id]);
  // Declared and register flows first, estimated (inferred) ones after.
  const items = [...(flows.data?.items ?? [])].sort((a, b) => Number(a.inferred) - Number(b.inferred));
  const organisation = items[0]?.organization;
  return (
    <div className="popup-body">
      <h3 className="popup-title">{site.name}</h3>
      {organisation && organisation !== site.name && <p className="popup-org">{organisation}</p>}
      <p className="popup-meta">
        {[site.city, site.country, site.nace && `${S.map.nace} ${site.nace}`].filter(Boolean).join(" · ")}
      </p>
      <h4 className="popup-subtitle">{S.map.flows}</h4>
      {flows.loading && !flows.data && <p className="muted">{S.app.loading}</p>}
      <ErrorMessage error={flows.error} />
      {flows.data && items.length === 0 && <p className="muted">{S.map.noFlows}</p>}
      <ul className="popup-flows">
        {items.slice(0, MAX).map((f) => (
          <li key={f.id}>
            <span className="dot" style={{ background: categoryColour(f.category) }} aria-hidden="true" />
            <span className="popup-flow-text">
              <span className={`dir dir-${f.direction}`}>{S.directions[f.direction] ?? f.direction}</span>
              {f.resource}
              {f.quantity !== null && f.quantity !== undefined && <span className="muted"> · {num(f.quantity)} {f.unit}</span>}
              {f.temperature_c !== null && f.temperature_c !== undefined && <span className="muted"> · {num(f.temperature_c)} °C</span>}
              {f.inferred && <span className="tag">{S.map.estimated}</span>}
            </span>
            <Link className="popup-link" to={withQuery("/matches", { flow: f.id })} aria-label={`${S.map.findPartners}: ${f.resource}`}>
              {S.map.findPartners}
            </Link>
          </li>
        ))}
      </ul>
      {items.length > MAX && <p className="muted">{S.map.moreFlows(items.length - MAX)}</p>}
    </div>
  );
}
