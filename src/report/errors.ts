/** An input the report cannot use (missing, of an unknown kind, damaged), or an output it must not write. */
export class ReportError extends Error {
  override name = 'ReportError';
}
