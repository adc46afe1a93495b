import { useTitle } from '../hooks/useTitle';

export function NotFound() {
  useTitle('Not found');
  return (
    <>
      <h1 tabIndex={-1}>No page here</h1>
      <p>
        There is no page at this address. Go to the <a href="/ui">dashboard</a> or the <a href="/ui/events">events</a>.
      </p>
    </>
  );
}
