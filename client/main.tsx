import { render } from 'preact';
import { App } from './components/App';

// Pasting another room's link into this tab only changes the fragment, which reloads nothing: start over in that room.
addEventListener('hashchange', () => location.reload());

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
