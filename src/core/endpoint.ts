/** Routes of the scanned project, as `stalecheck endpoints` lists them and findings cite them. */

export interface Handler {
  /** File and qualified function name of the handler in the scanned tree. */
  file: string;
  function: string;
  methods: string[];
  /**
   * DRF class-based views: the permission classes of this handler's action, as written
   * (narrowed by `get_permissions()` per `self.action` and by `@action(permission_classes=…)`).
   */
  permissions?: string[];
  /** The scanned-tree classes among `permissions`, resolved. */
  permissionClasses?: { file: string; name: string }[];
}

export interface Endpoint {
  route: string;
  methods: string[];
  /** The view as a qualified name (`invoices.views.PayInvoiceVulnerable`). */
  view: string;
  /** File and line of the URL pattern that routes here. */
  urlFile: string;
  urlLine: number;
  handlers: Handler[];
  /** The class of a class-based view, for attributing its helper methods. */
  viewClass: { file: string; name: string } | null;
  drf: boolean;
  authentication: string[];
  /** Every handler's permission classes, as written (each handler's own in `Handler.permissions`). */
  permissions: string[];
  /** Permission classes defined in the scanned tree, resolved (of every handler). */
  permissionClasses: { file: string; name: string }[];
  basicAuth: boolean;
  basicAuthReasons: string[];
}
