/** Errors every stage may raise or report, kept here so that no stage imports upward for them. */

/** A mistake of the user's (a flag, a path, a configuration value): exit code 2, no stack trace. */
export class UsageError extends Error {}

/** A file that could not be scanned, or a problem in part of it (a syntax error on a line). */
export interface FileError {
  /** Relative to the scan root, forward slashes. */
  file: string;
  line?: number;
  message: string;
}
