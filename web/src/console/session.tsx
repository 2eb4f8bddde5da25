import { createContext, type ReactNode, useContext, useMemo, useState } from 'react';
import { type ApiClient, apiClient, unwrap } from '../api/client.ts';
import type { components } from '../api/schema';

export type ApiKey = components['schemas']['ApiKey'];
export type Role = ApiKey['role'];

const STORAGE = 'tessera.key';

interface Session {
  key: string;
  /** The key as the API describes it: its program (null for the coalition) and role. */
  principal: ApiKey;
}

interface SessionContext {
  session: Session | null;
  api: ApiClient;
  signIn(key: string): Promise<void>;
  signOut(): void;
}

const Context = createContext<SessionContext | null>(null);

function saved(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

/** The signed-in key, kept for this browser tab only (sessionStorage), and a client that sends it. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(saved);
  const value = useMemo<SessionContext>(() => {
    const api = apiClient(() => (session ? `Bearer ${session.key}` : null));
    return {
      session,
      api,
      async signIn(key) {
        const probe = apiClient(() => `Bearer ${key}`);
        const principal = unwrap(await probe.GET('/v1/api-keys/current'));
        const next = { key, principal };
        sessionStorage.setItem(STORAGE, JSON.stringify(next));
        setSession(next);
      },
      signOut() {
        sessionStorage.removeItem(STORAGE);
        setSession(null);
      },
    };
  }, [session]);
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useSession(): SessionContext {
  const value = useContext(Context);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}

/** The API client of the signed-in key. */
export const useApi = () => useSession().api;

const RANK: Record<Role, number> = { read: 0, integration: 1, admin: 2 };

/** What the signed-in key may do: the console offers only that. */
export function useCan() {
  const { session } = useSession();
  const p = session?.principal;
  return {
    coalitionAdmin: p?.programId === null && p?.role === 'admin',
    /** At least `role` in `programId` (a coalition key is admin everywhere). */
    program: (programId: string, role: Role) =>
      !!p && (p.programId === null || (p.programId === programId && RANK[p.role] >= RANK[role])),
  };
}
