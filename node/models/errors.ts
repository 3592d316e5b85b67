/**
 * Named errors of model resolution and loading. Callers match on `err.name` (as js-libp2p
 * does). Messages name files, URLs and sizes — never prompts or generated text.
 */

/** The `--model` value names nothing usable: a missing path, a directory, or a 404 on Hugging Face. */
export class ModelNotFoundError extends Error {
  static override readonly name = 'ModelNotFoundError';
  /** The `--model` value as given. */
  readonly model: string;

  constructor(message: string, model: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ModelNotFoundError';
    this.model = model;
  }
}

/**
 * The model file exists but cannot be used: not a GGUF file, truncated or corrupt,
 * an architecture llama.cpp does not know, not enough memory, or no usable llama.cpp
 * binary. The message carries the real reason (llama.cpp's own words where it gave any).
 */
export class ModelLoadError extends Error {
  static override readonly name = 'ModelLoadError';
  /** Path of the model file, when there is one. */
  readonly path: string | undefined;

  constructor(message: string, path?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ModelLoadError';
    this.path = path;
  }
}

/**
 * A remote model (`hf:` URI) is not cached and its host cannot be reached. The message
 * names the URL that was tried, the local file that would have been used, and the
 * offline alternative (`--model /path/file.gguf`).
 */
export class OfflineModelError extends Error {
  static override readonly name = 'OfflineModelError';
  /** The URL the preflight request tried. */
  readonly url: string;
  /** Where the downloaded file would have been stored. */
  readonly localPath: string;

  constructor(message: string, url: string, localPath: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OfflineModelError';
    this.url = url;
    this.localPath = localPath;
  }
}
