import type { Match } from "../api";
import { Link } from "../app/router";
import { eur, km, num, years } from "../format";
import { S } from "../i18n";
import { CategoryBadge, RouteBadge, ScoreRing } from "./common";
import { ScoreBars } from "./ScoreBars";

function capitalise(text: string): string {
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

export function MatchSides({ match }: { match: Match }) {
  return (
    <div className="match-sides">
      <div className="side side-supply">
        <span className="side-label">{S.matches.supply}</span>
        <span className="side-resource">{match.supply.resource}</span>
        <span className="side-org">{capitalise(match.supply.organization)}</span>
        {match.supply.site && match.supply.site !== match.supply.organization && <span className="side-site">{match.supply.site}</span>}
      </div>
      <span className="side-arrow" aria-hidden="true">→</span>
      <div className="side side-demand">
        <span className="side-label">{S.matches.demand}</span>
        <span className="side-resource">{match.demand.resource}</span>
        <span className="side-org">{capitalise(match.demand.organization)}</span>
        {match.demand.site && match.demand.site !== match.demand.organization && <span className="side-site">{match.demand.site}</span>}
      </div>
    </div>
  );
}

export function MatchCard({ match, rank, selected, onSelect, onHover }: {
  match: Match;
  rank: number;
  selected: boolean;
  onSelect: () => void;
  onHover: (on: boolean) => void;
}) {
  const e = match.economics;
  return (
    <article className={`match-card${selected ? " selected" : ""}`} data-match-id={match.id}
      onMouseEnter={() => onHover(true)} onMouseLeave={() => onHover(false)} aria-labelledby={`match-${match.id}-title`}>
      <header className="match-card-head">
        <ScoreRing score={match.score} />
        <div className="match-card-title">
          <h3 id={`match-${match.id}-title`}>
            <span className="rank">{S.matches.rank(rank)}</span> {capitalise(match.supply.organization)} → {capitalise(match.demand.organization)}
          </h3>
          <div className="badges">
            <CategoryBadge category={match.category} />
            <RouteBadge route={match.route} />
            <span className="badge">{km(match.distance_km)}</span>
          </div>
        </div>
      </header>
      <MatchSides match={match} />
      <dl className="kpis kpis-small">
        <div><dt>{S.matches.npv}</dt><dd>{eur(e.npv_eur)}</dd></div>
        <div><dt>{S.matches.payback}</dt><dd>{years(e.payback_years)}</dd></div>
        <div><dt>{S.matches.co2}</dt><dd>{e.co2_avoided_t_per_year === null ? "–" : `${num(e.co2_avoided_t_per_year)} t/yr`}</dd></div>
      </dl>
      <ScoreBars scores={match.scores} compact />
      <details className="why">
        <summary>{S.matches.why}</summary>
        <p>{match.explanation}</p>
        {(match.route_reasons?.length ?? 0) > 0 && (
          <p><strong>{S.matches.route}:</strong> {match.route_reasons!.join("; ")}</p>
        )}
        {(match.constraints?.length ?? 0) > 0 && (
          <>
            <strong>{S.matches.constraints}</strong>
            <ul className="constraints">
              {match.constraints!.map((c, i) => (
                <li key={i}>{Object.values(c).join(" — ")}</li>
              ))}
            </ul>
          </>
        )}
        {(match.relaxations?.length ?? 0) > 0 && (
          <p><strong>{S.matches.relaxations}:</strong> {match.relaxations!.join(", ")}</p>
        )}
      </details>
      <div className="button-row">
        <Link className="btn btn-primary btn-small" to={`/matches/${encodeURIComponent(match.id)}`}>
          {S.matches.details}
        </Link>
        <button type="button" className="btn btn-ghost btn-small" onClick={onSelect} aria-pressed={selected}>
          {S.matches.showOnMap}
        </button>
      </div>
    </article>
  );
}
