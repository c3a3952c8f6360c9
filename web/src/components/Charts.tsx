import type { TornadoBar } from "../api";
import { eur } from "../format";
import { S } from "../i18n";

/** P10–P90 range with the P50 marked. */
export function RangeBar({ low, mid, high, format, label }: {
  low: number;
  mid: number | null;
  high: number;
  format: (v: number) => string;
  label: string;
}) {
  const span = high - low || 1;
  const at = mid === null ? null : Math.max(0, Math.min(100, ((mid - low) / span) * 100));
  return (
    <div className="range" role="img" aria-label={`${label}: ${format(low)} – ${format(high)}`}>
      <div className="range-track">
        <span className="range-fill" />
        {at !== null && <span className="range-mid" style={{ left: `${at}%` }} />}
      </div>
      <div className="range-labels">
        <span>P10 {format(low)}</span>
        <span>P90 {format(high)}</span>
      </div>
    </div>
  );
}

/** Tornado chart: NPV with each input at its low and high value, bars around the base NPV, widest first. */
export function Tornado({ bars, base }: { bars: TornadoBar[]; base: number | null }) {
  if (bars.length === 0 || base === null) return <p className="muted">–</p>;
  const sorted = [...bars].sort((a, b) => Math.abs(b.npv_high - b.npv_low) - Math.abs(a.npv_high - a.npv_low));
  let min = base;
  let max = base;
  for (const b of sorted) {
    min = Math.min(min, b.npv_low, b.npv_high);
    max = Math.max(max, b.npv_low, b.npv_high);
  }
  const span = max - min || Math.abs(base) || 1;
  const x = (v: number) => ((v - min) / span) * 100;
  const baseX = x(base);
  return (
    <div className="tornado">
      <ul>
        {sorted.map((b) => {
          const lowX = x(b.npv_low);
          const highX = x(b.npv_high);
          return (
            <li key={b.input} className="tornado-row" role="img"
              aria-label={`${b.input}: ${S.economics.low} ${eur(b.npv_low)}, ${S.economics.high} ${eur(b.npv_high)}`}>
              <span className="tornado-label">{b.input}</span>
              <span className="tornado-track">
                <span className="tornado-bar tornado-low" style={segment(baseX, lowX)} />
                <span className="tornado-bar tornado-high" style={segment(baseX, highX)} />
                <span className="tornado-base" style={{ left: `${baseX}%` }} />
              </span>
              <span className="tornado-values">
                {eur(b.npv_low)} / {eur(b.npv_high)}
              </span>
            </li>
          );
        })}
      </ul>
      <div className="tornado-legend" aria-hidden="true">
        <span><i className="swatch tornado-low" /> {S.economics.low}</span>
        <span><i className="swatch tornado-high" /> {S.economics.high}</span>
        <span><i className="swatch swatch-base" /> NPV {eur(base)}</span>
      </div>
    </div>
  );
}

function segment(a: number, b: number) {
  const left = Math.min(a, b);
  return { left: `${left}%`, width: `${Math.max(0.4, Math.abs(b - a))}%` };
}
