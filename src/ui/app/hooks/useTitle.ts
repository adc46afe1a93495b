import { useEffect } from 'preact/hooks';

/** The tab's title for the page shown: "Events · webhook-gateway". */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · webhook-gateway`;
  }, [title]);
}
