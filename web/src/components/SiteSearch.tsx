import { useEffect, useId, useRef, useState, type KeyboardEvent } from "react";
import type { Site } from "../api";
import { useDebounced } from "../app/hooks";
import { useApi } from "../app/session";
import { S } from "../i18n";

/** Site name search (`GET /sites?q=`) as an accessible combobox: arrows move, Enter picks, Escape closes. */
export function SiteSearch({ onPick }: { onPick: (site: Site) => void }) {
  const api = useApi();
  const id = useId();
  const [text, setText] = useState("");
  const [open, setOpen] = useState(false);
  const [results, setResults] = useState<Site[]>([]);
  const [active, setActive] = useState(-1);
  const [searched, setSearched] = useState(false);
  const query = useDebounced(text.trim(), 250);
  const picked = useRef<string | null>(null);

  useEffect(() => {
    if (query === picked.current) return;
    if (query.length < 2) {
      setResults([]);
      setSearched(false);
      return;
    }
    let stale = false;
    api
      .sites({ q: query, limit: 8 })
      .then((page) => {
        if (stale) return;
        setResults(page.items);
        setSearched(true);
        setActive(page.items.length ? 0 : -1);
      })
      .catch(() => !stale && setResults([]));
    return () => {
      stale = true;
    };
  }, [api, query]);

  const pick = (site: Site) => {
    onPick(site);
    setOpen(false);
    picked.current = site.name.trim();
    setText(site.name);
  };

  const onKey = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      setOpen(true);
      setActive((a) => Math.min(results.length - 1, a + 1));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      setActive((a) => Math.max(0, a - 1));
    } else if (event.key === "Enter" && open && results[active]) {
      event.preventDefault();
      pick(results[active]);
    } else if (event.key === "Escape") {
      setOpen(false);
    }
  };

  const expanded = open && query.length >= 2 && (results.length > 0 || searched);
  return (
    <div className="site-search">
      <label htmlFor={`${id}-input`} className="sr-only">
        {S.map.search}
      </label>
      <span className="search-icon" aria-hidden="true">⌕</span>
      <input
        id={`${id}-input`}
        type="search"
        role="combobox"
        aria-expanded={expanded}
        aria-controls={`${id}-list`}
        aria-autocomplete="list"
        aria-activedescendant={expanded && active >= 0 ? `${id}-opt-${active}` : undefined}
        placeholder={S.map.searchPlaceholder}
        value={text}
        autoComplete="off"
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => window.setTimeout(() => setOpen(false), 150)}
        onKeyDown={onKey}
      />
      <ul id={`${id}-list`} role="listbox" className="search-results" hidden={!expanded} aria-label={S.map.search}>
        {results.map((site, i) => (
          <li
            key={site.id}
            id={`${id}-opt-${i}`}
            role="option"
            aria-selected={i === active}
            className={i === active ? "active" : ""}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => pick(site)}
          >
            <span className="result-name">{site.name}</span>
            <span className="result-meta">{[site.city, site.country, site.nace].filter(Boolean).join(" · ")}</span>
          </li>
        ))}
        {searched && results.length === 0 && <li className="muted no-results">{S.map.noResults}</li>}
      </ul>
    </div>
  );
}
