import { render } from 'preact';
import { App } from './app';
import './styles/app.css';

// The UI's entry (bundled by src/ui/build.ts): the whole page is one Preact tree.
render(<App />, document.getElementById('app')!);
