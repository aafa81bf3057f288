// inbox.js: the operator's day (placeholder until the inbox lands).
import { register } from './state.js';

register({ name: 'inbox', title: 'nav.inbox', nav: true, render: () => null });
