import { S } from "../i18n";

/** The order the engine reports its scorers in, then the sector-fit prior. */
export const SCORE_ORDER = ["quality", "temporal", "quantity", "economic", "trust", "distance", "sector"];

/** A match's score breakdown as a small horizontal bar chart (values 0..1; null = not computed). */
export function ScoreBars({ scores, compact = false }: { scores: Record<string, number | null | undefined>; compact?: boolean }) {
  const names = [...SCORE_ORDER.filter((n) => n in scores), ...Object.keys(scores).filter((n) => !SCORE_ORDER.includes(n))];
  return (
    <ul className={`score-bars${compact ? " compact" : ""}`} aria-label={S.matches.scoreBreakdown}>
      {names.map((name) => {
        const value = scores[name];
        const known = typeof value === "number" && Number.isFinite(value);
        const width = known ? Math.max(0, Math.min(1, value)) * 100 : 0;
        const label = S.scores[name] ?? name;
        return (
          <li key={name} data-score={name}>
            <span className="score-label">{label}</span>
            <span className="score-track" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100}
              aria-valuenow={known ? Math.round(width) : undefined} aria-valuetext={known ? `${Math.round(width)} %` : "n/a"}>
              <span className={`score-fill ${tone(known ? value : null)}`} style={{ width: `${width}%` }} />
            </span>
            <span className="score-value">{known ? Math.round(width) : "n/a"}</span>
          </li>
        );
      })}
    </ul>
  );
}

function tone(value: number | null): string {
  if (value === null) return "na";
  if (value >= 0.75) return "good";
  if (value >= 0.5) return "fair";
  return "weak";
}
