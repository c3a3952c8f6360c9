/** The signed-in user, their organisations and the API, for every page. */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { ApiClient, STORAGE_SESSION_KEY } from "../api/client";
import { endpoints, type Api, type Organization, type User } from "../api";

export const defaultApi: Api = endpoints(new ApiClient());

const ApiContext = createContext<Api>(defaultApi);

export function ApiProvider({ api, children }: { api: Api; children: ReactNode }) {
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

export function useApi(): Api {
  return useContext(ApiContext);
}

export interface Session {
  status: "loading" | "anonymous" | "ready";
  user: User | null;
  organizations: Organization[];
  reloadOrganizations: () => Promise<Organization[]>;
  login: (email: string, password: string) => Promise<void>;
  register: (name: string, email: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const api = useApi();
  const [status, setStatus] = useState<Session["status"]>(api.client.session ? "loading" : "anonymous");
  const [user, setUser] = useState<User | null>(null);
  const [organizations, setOrganizations] = useState<Organization[]>([]);

  const load = useCallback(async () => {
    try {
      const [me, orgs] = await Promise.all([api.me(), api.myOrganizations()]);
      setUser(me);
      setOrganizations(orgs);
      setStatus("ready");
    } catch {
      setUser(null);
      setOrganizations([]);
      setStatus(api.client.session ? "ready" : "anonymous");
    }
  }, [api]);

  useEffect(() => {
    if (api.client.session) void load();
    const unsubscribe = api.client.subscribe((tokens) => {
      if (!tokens) {
        setUser(null);
        setOrganizations([]);
        setStatus("anonymous");
      }
    });
    const onStorage = (event: StorageEvent) => {
      if (event.key !== STORAGE_SESSION_KEY) return;
      const had = api.client.session;
      api.client.adoptStoredSession();
      if (!had && api.client.session) void load();
    };
    window.addEventListener("storage", onStorage);
    return () => {
      unsubscribe();
      window.removeEventListener("storage", onStorage);
    };
  }, [api, load]);

  const reloadOrganizations = useCallback(async () => {
    const orgs = await api.myOrganizations();
    setOrganizations(orgs);
    return orgs;
  }, [api]);

  const login = useCallback(
    async (email: string, password: string) => {
      await api.client.login(email, password);
      setStatus("loading");
      await load();
    },
    [api, load],
  );

  const register = useCallback(
    async (name: string, email: string, password: string) => {
      await api.register({ name, email, password });
      await login(email, password);
    },
    [api, login],
  );

  const logout = useCallback(async () => {
    try {
      await api.client.logout();
    } catch {
      // the server may have ended the session already; the local one is gone either way
    }
  }, [api]);

  const value = useMemo(
    () => ({ status, user, organizations, reloadOrganizations, login, register, logout }),
    [status, user, organizations, reloadOrganizations, login, register, logout],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}
