/**
 * Hands the page's {@link AppState} to components: `App.svelte` sets it once, any
 * component below reads it with `getAppState()`.
 */
import { createContext } from 'svelte';
import type { AppState } from './app.svelte.js';

export const [getAppState, setAppState] = createContext<AppState>();
