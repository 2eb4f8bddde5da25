import { useQuery } from '@tanstack/react-query';
import { unwrap } from '../../api/client.ts';
import { coalition } from '../../i18n/coalition.ts';
import { useT } from '../../i18n/i18n.tsx';
import { useApi, useCan } from '../session.tsx';

/** The settlement's name for the coalition operator, a party beside the programs. */
export const COALITION_PARTY = 'coalition';

/**
 * The coalition's programs (the first 100, which a coalition is: a handful of brands), for names
 * and pickers. Read only by the coalition admin; other keys see ids.
 */
export function usePrograms() {
  const api = useApi();
  const can = useCan();
  // The same query as the shell's program picker, so it is read once.
  return useQuery({
    queryKey: ['programs'],
    queryFn: async () =>
      unwrap(await api.GET('/v1/programs', { params: { query: { limit: 100 } } })),
    enabled: can.coalitionAdmin,
  });
}

/** A party of a settlement or a program as people read it: its name and id, or the operator. */
export function usePartyName() {
  const t = useT(coalition);
  const programs = usePrograms();
  const names = new Map((programs.data?.data ?? []).map((p) => [p.id, p.name]));
  return (id: string) =>
    id === COALITION_PARTY ? t.coalitionParty : names.has(id) ? `${names.get(id)} (${id})` : id;
}

/** Options for a program picker. */
export function useProgramOptions() {
  const programs = usePrograms();
  return (programs.data?.data ?? []).map((p) => ({ value: p.id, label: `${p.name} (${p.id})` }));
}
