import { lazy, Suspense, useEffect, useState } from "react";
import { Link, matchPath, navigate, useLocation } from "./app/router";
import { useSession } from "./app/session";
import { Spinner } from "./components/common";
import { S } from "./i18n";
import { LoginPage } from "./pages/LoginPage";

const MapPage = lazy(() => import("./pages/MapPage").then((m) => ({ default: m.MapPage })));
const MatchesPage = lazy(() => import("./pages/MatchesPage").then((m) => ({ default: m.MatchesPage })));
const MatchDetailPage = lazy(() => import("./pages/MatchDetailPage").then((m) => ({ default: m.MatchDetailPage })));
const DealsPage = lazy(() => import("./pages/DealsPage").then((m) => ({ default: m.DealsPage })));
const OrganizationPage = lazy(() => import("./pages/OrganizationPage").then((m) => ({ default: m.OrganizationPage })));

const NAV = [
  { to: "/", label: S.nav.map, match: (p: string) => p === "/" || p === "/map" },
  { to: "/matches", label: S.nav.matches, match: (p: string) => p.startsWith("/matches") },
  { to: "/deals", label: S.nav.deals, match: (p: string) => p.startsWith("/deals") },
  { to: "/org", label: S.nav.organisation, match: (p: string) => p.startsWith("/org") },
];

function Page({ path }: { path: string }) {
  if (path === "/" || path === "/map") return <MapPage />;
  if (path === "/matches") return <MatchesPage />;
  const detail = matchPath("/matches/:id", path);
  if (detail) return <MatchDetailPage id={detail.id} />;
  if (path === "/deals") return <DealsPage />;
  if (path === "/org") return <OrganizationPage />;
  return (
    <div className="page page-narrow">
      <h1>{S.app.notFound}</h1>
      <Link to="/">{S.app.backHome}</Link>
    </div>
  );
}

function useOnline(): boolean {
  const [online, setOnline] = useState(typeof navigator === "undefined" ? true : navigator.onLine);
  useEffect(() => {
    const on = () => setOnline(true);
    const off = () => setOnline(false);
    window.addEventListener("online", on);
    window.addEventListener("offline", off);
    return () => {
      window.removeEventListener("online", on);
      window.removeEventListener("offline", off);
    };
  }, []);
  return online;
}

export function App() {
  const session = useSession();
  const { path, href } = useLocation();
  const online = useOnline();

  useEffect(() => {
    if (session.status === "anonymous" && path !== "/login") {
      navigate(`/login${path !== "/" ? `?next=${encodeURIComponent(href)}` : ""}`, { replace: true });
    }
    if (session.status === "ready" && path === "/login") {
      const next = new URLSearchParams(window.location.search).get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/", { replace: true });
    }
  }, [session.status, path, href]);

  useEffect(() => {
    const page = NAV.find((n) => n.match(path));
    document.title = path === "/login" ? `${S.auth.signIn} — ${S.app.name}` : `${page?.label ?? S.app.name} — ${S.app.name}`;
  }, [path]);

  if (session.status === "loading") return <div className="boot"><Spinner /></div>;
  if (session.status === "anonymous" || path === "/login") return <LoginPage />;

  const fullBleed = path === "/" || path === "/map";
  return (
    <div className="shell">
      <a className="skip-link" href="#main">{S.app.skipToContent}</a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label={`${S.app.name} — ${S.nav.map}`}>
          <img src="/icons/favicon.svg" alt="" width={28} height={28} />
          <span>{S.app.name}</span>
          <span className="brand-tag">{S.app.tagline}</span>
        </Link>
        <nav aria-label={S.nav.main} className="nav">
          {NAV.map((n) => (
            <Link key={n.to} to={n.to} className={`nav-link${n.match(path) ? " active" : ""}`} aria-current={n.match(path) ? "page" : undefined}>
              {n.label}
            </Link>
          ))}
        </nav>
        <div className="account">
          <span className="avatar" aria-hidden="true">{(session.user?.name ?? "?").slice(0, 1).toUpperCase()}</span>
          <span className="account-name">{session.user?.name}</span>
          <button type="button" className="btn btn-small btn-on-dark" onClick={() => void session.logout()}>
            {S.nav.signOut}
          </button>
        </div>
      </header>
      {!online && <div className="offline-banner" role="status">{S.app.offline}</div>}
      <main id="main" className={fullBleed ? "main main-full" : "main"} tabIndex={-1}>
        <Suspense fallback={<Spinner />}>
          <Page path={path} />
        </Suspense>
      </main>
    </div>
  );
}
