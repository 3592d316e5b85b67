/** Page-level UI state: the conversation drawer on phones, focus requests, announcements. */
export class UiState {
  /** The conversation list, as a drawer on narrow screens. */
  drawerOpen = $state(false);
  /** Bumped to ask the prompt box to take focus (it watches this). */
  promptFocusRequests = $state(0);
  /** Text for the polite live region: state changes a screen reader should hear. */
  announcement = $state('');
  #flip = false;

  focusPrompt(): void {
    this.promptFocusRequests += 1;
  }

  announce(text: string): void {
    // A zero-width space makes a repeated message a change the live region announces.
    this.#flip = !this.#flip;
    this.announcement = this.#flip ? text : `${text}\u200b`;
  }
}
