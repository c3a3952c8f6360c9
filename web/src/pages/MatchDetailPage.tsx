import { useMemo, useState } from "react";
import type { BusinessCase, Proposal } from "../api";
import { useAsync } from "../app/hooks";
import { Link, withQuery } from "../app/router";
import { useApi } from "../app/session";
import { CategoryBadge, ErrorMessage, Notice, RouteBadge, ScoreRing, Spinner } from "../components/common";
import { DownloadButton } from "../components/DownloadButton";
import { MatchSides } from "../components/MatchCard";
import { ScoreBars } from "../components/ScoreBars";
import { RangeBar, Tornado } from "../components/Charts";
import { eur, humanise, km, num, pct, years } from "../format";
import { S } from "../i18n";
import { locateMatches } from "../map/locations";
import { MatchMap } from "../map/MatchMap";

export function MatchDetailPage({ id }: { id: string }) {
  const api = useApi();
  const data = useAsync(() => api.economics(id), [api, id]);
  if (data.error) {
    return (
      <div className="page">
        <BackLink />
        <ErrorMessage error={data.error} onRetry={() => void data.reload()} />
      </div>
    );
  }
  if (!data.data) return <div className="page"><Spinner /></div>;
  return <BusinessCaseView data={data.data} />;
}

function BackLink() {
  return (
    <Link className="back-link" to="/matches">
      ← {S.economics.back}
    </Link>
  );
}

function BusinessCaseView({ data }: { data: BusinessCase }) {
  const api = useApi();
  const { match, economics: e } = data;
  const [proposal, setProposal] = useState<Proposal | null>(null);
  const [proposing, setProposing] = useState(false);
  const [proposeError, setProposeError] = useState<unknown>(null);
  const [reportError, setReportError] = useState<unknown>(null);
  const matches = useMemo(() => [match], [match]);
  const located = useAsync(() => locateMatches(api, matches), [api, matches]);

  const propose = async () => {
    setProposing(true);
    setProposeError(null);
    try {
      const draft = await api.createProposal(match.id);
      setProposal(draft.status === "draft" ? await api.changeProposalStatus(draft.id, "sent") : draft);
    } catch (err) {
      setProposeError(err);
    } finally {
      setProposing(false);
    }
  };

  // The printable report needs the bearer token, so it is fetched and opened as a document of its own.
  const openReport = async () => {
    setReportError(null);
    const win = window.open("", "_blank");
    try {
      const html = await api.economicsReport(match.id);
      const url = URL.createObjectURL(new Blob([html], { type: "text/html" }));
      if (win) win.location.href = url;
      else window.location.href = url;
      window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      win?.close();
      setReportError(err);
    }
  };

  const npvLow = e.npv_range?.p10 ?? null;
  const npvHigh = e.npv_range?.p90 ?? null;
  const risks = Object.entries(e.risk ?? {});

  return (
    <div className="page page-wide match-detail">
      <BackLink />
      <header className="detail-head">
        <ScoreRing score={match.score} size={64} />
        <div className="detail-title">
          <h1>
            {match.supply.resource} <span className="muted">→</span> {match.demand.resource}
          </h1>
          <div className="badges">
            <CategoryBadge category={match.category} />
            <RouteBadge route={match.route} />
            <span className="badge">{km(match.distance_km)}</span>
          </div>
        </div>
        <div className="detail-actions">
          {!proposal && (
            <button type="button" className="btn btn-primary" onClick={() => void propose()} disabled={proposing}>
              {proposing ? S.economics.proposing : S.economics.propose}
            </button>
          )}
          <button type="button" className="btn btn-ghost" onClick={() => void openReport()}>
            {S.economics.printable}
          </button>
          <DownloadButton
            label={S.documents.businessCasePdf}
            fileName={`business-case-${match.id}.pdf`}
            fetch={() => api.economicsPdf(match.id)}
          />
          <DownloadButton
            label={S.documents.packetPdf}
            fileName={`partner-packet-${match.id}.pdf`}
            fetch={() => (proposal ? api.proposalPacketPdf(proposal.id) : api.matchPacketPdf(match.id))}
          />
        </div>
      </header>
      <ErrorMessage error={proposeError} />
      <ErrorMessage error={reportError} />
      {proposal && (
        <Notice tone="success">
          {S.economics.proposed}{" "}
          <Link to={withQuery("/deals", { open: proposal.id })}>{S.economics.openDeal}</Link>
        </Notice>
      )}

      <section aria-labelledby="parties-title" className="card">
        <h2 id="parties-title" className="sr-only">{S.economics.parties}</h2>
        <MatchSides match={match} />
        <p className="explanation">{match.explanation}</p>
        {(match.route_reasons?.length ?? 0) > 0 && <p className="muted">{S.matches.route}: {match.route_reasons!.join("; ")}</p>}
        {(match.constraints?.length ?? 0) > 0 && (
          <ul className="constraints">
            {match.constraints!.map((c, i) => <li key={i}>{Object.values(c).join(" — ")}</li>)}
          </ul>
        )}
      </section>

      <h2 className="section-title">{S.economics.title}</h2>
      {!e.computable && (
        <Notice>
          {S.economics.notComputable} {(e.notes ?? []).join("; ")}
        </Notice>
      )}
      <div className="kpi-grid">
        <div className="kpi kpi-hero">
          <span className="kpi-label">{S.economics.npvP50}</span>
          <span className="kpi-value">{eur(e.npv_range?.p50 ?? e.npv_eur)}</span>
          {npvLow !== null && npvHigh !== null && (
            <RangeBar low={npvLow} mid={e.npv_range?.p50 ?? e.npv_eur ?? null} high={npvHigh} format={(v) => eur(v)} label={S.economics.npvRange} />
          )}
        </div>
        <div className="kpi">
          <span className="kpi-label">{S.economics.payback}</span>
          <span className="kpi-value">{years(e.payback_years)}</span>
        </div>
        <div className="kpi">
          <span className="kpi-label">{S.economics.irr}</span>
          <span className="kpi-value">{pct(e.irr)}</span>
        </div>
        <div className="kpi">
          <span className="kpi-label">{S.economics.co2}</span>
          <span className="kpi-value">{num(e.co2_avoided_t_per_year)} <small>{S.economics.tonnesPerYear}</small></span>
          {e.co2_range?.p10 != null && e.co2_range?.p90 != null && (
            <span className="kpi-sub">P10–P90: {num(e.co2_range.p10)} – {num(e.co2_range.p90)}</span>
          )}
        </div>
        <div className="kpi">
          <span className="kpi-label">{S.economics.capex}</span>
          <span className="kpi-value">{eur(e.capex_eur)}</span>
        </div>
        <div className="kpi">
          <span className="kpi-label">{S.economics.benefit}</span>
          <span className="kpi-value">{eur(e.benefit_eur_per_year)}</span>
          <span className="kpi-sub">{S.economics.opex}: {eur(e.opex_eur_per_year)} / yr</span>
        </div>
      </div>

      <div className="detail-grid">
        <section className="card" aria-labelledby="band-title">
          <h3 id="band-title">{S.economics.priceBand}</h3>
          {e.price_band && e.price_band.low !== null && e.price_band.high !== null ? (
            <>
              <p className="band-value">
                {num(e.price_band.low, 2)} – {num(e.price_band.high, 2)} <span className="muted">{e.price_band.unit}</span>
              </p>
              <div className="band" aria-hidden="true"><span /></div>
              <p className="muted">{e.price_band.note ?? S.economics.priceBandHint}</p>
            </>
          ) : (
            <p className="muted">{e.price_band_reason ?? "–"}</p>
          )}
        </section>

        <section className="card" aria-labelledby="scores-title">
          <h3 id="scores-title">{S.matches.scoreBreakdown}</h3>
          <ScoreBars scores={match.scores} />
        </section>

        <section className="card card-wide" aria-labelledby="tornado-title">
          <h3 id="tornado-title">{S.economics.tornado}</h3>
          <p className="muted">{S.economics.tornadoHint}</p>
          <Tornado bars={e.tornado ?? []} base={e.npv_eur ?? null} />
        </section>

        <section className="card card-wide" aria-labelledby="risk-title">
          <h3 id="risk-title">{S.economics.risk}</h3>
          <div className="risk-grid">
            {risks.map(([kind, r]) => (
              <div key={kind} className={`risk risk-${r.level}`}>
                <div className="risk-head">
                  <span>{S.economics.riskKinds[kind] ?? humanise(kind)}</span>
                  <span className={`level level-${r.level}`}>{S.economics.levels[r.level] ?? r.level}</span>
                </div>
                <ul>{r.reasons.map((reason, i) => <li key={i}>{reason}</li>)}</ul>
              </div>
            ))}
          </div>
        </section>

        <section className="card" aria-label={S.matches.showOnMap}>
          <MatchMap matches={matches} locations={located.data ?? new Map()} label={S.matches.showOnMap} className="map-card" />
        </section>

        <section className="card" aria-labelledby="more-title">
          <h3 id="more-title">{S.economics.notes}</h3>
          <dl className="facts">
            <div><dt>{S.economics.roi}</dt><dd>{e.roi != null ? `${num(e.roi, 1)}×` : "–"}</dd></div>
            <div><dt>{S.economics.lcoe}</dt><dd>{e.levelised_cost?.value != null ? `${num(e.levelised_cost.value, 2)} ${e.levelised_cost.unit}` : "–"}</dd></div>
            <div><dt>{S.matches.distance}</dt><dd>{km(match.distance_km)}</dd></div>
          </dl>
          {(e.notes?.length ?? 0) > 0 && <ul>{e.notes!.map((n, i) => <li key={i}>{n}</li>)}</ul>}
        </section>

        <section className="card card-wide" aria-labelledby="assumptions-title">
          <details open>
            <summary><h3 id="assumptions-title" className="inline">{S.economics.assumptions} ({e.assumptions?.length ?? 0})</h3></summary>
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr><th scope="col">{S.economics.assumption}</th><th scope="col" className="num">{S.economics.value}</th><th scope="col">{S.economics.unit}</th><th scope="col">{S.economics.source}</th></tr>
                </thead>
                <tbody>
                  {(e.assumptions ?? []).map((a) => (
                    <tr key={a.name}>
                      <td><code>{a.name}</code></td>
                      <td className="num">{typeof a.value === "number" ? num(a.value, 3) : String(a.value ?? "–")}</td>
                      <td>{a.unit ?? ""}</td>
                      <td>{a.source ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </section>
      </div>
    </div>
  );
}
