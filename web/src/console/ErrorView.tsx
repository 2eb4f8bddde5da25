import { Alert, Button } from 'antd';
import { problemOf } from '../api/client.ts';
import { shell } from '../i18n/console.ts';
import { useT } from '../i18n/i18n.tsx';

/** An error as the API explained it (its problem's detail), with a retry when there is one. */
export function ErrorView({ error, retry }: { error: unknown; retry?: () => void }) {
  const t = useT(shell);
  const problem = problemOf(error);
  return (
    <Alert
      type="error"
      showIcon
      title={t.error}
      description={problem?.detail ?? (error as Error | null)?.message}
      action={
        retry && (
          <Button size="small" onClick={retry}>
            {t.retry}
          </Button>
        )
      }
    />
  );
}
