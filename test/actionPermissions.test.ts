/**
 * The project stage's DRF permissions per action: get_permissions() by self.action,
 * @action(permission_classes=…), class dicts by action, and which of them only authenticate.
 */
import { describe, expect, it } from "vitest";
import { extractFileFacts } from "../src/extract/extractFileFacts.js";
import { type Project, buildProject } from "../src/project/buildProject.js";
import { actionPermissions, authenticationOnly } from "../src/project/actionPermissions.js";

async function projectOf(sources: Record<string, string>): Promise<Project> {
  const facts = [];
  for (const [path, source] of Object.entries(sources)) facts.push(await extractFileFacts(path, source));
  return buildProject(facts);
}

/** The permission classes of each action of a view class, as written; `?` marks those not known. */
function permissionsOf(project: Project, path: string, className: string, actions: (string | null)[]): Record<string, string> {
  const file = project.files.find((f) => f.path === path)!;
  const cls = file.classes.find((c) => c.name === className)!;
  const out: Record<string, string> = {};
  for (const action of actions) {
    const perms = actionPermissions(project.index, project.settings, file, cls, action);
    out[action ?? "(none)"] = `${perms.names.join(" ")}${perms.known ? "" : " ?"}`;
  }
  return out;
}

const HEADER = `from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAdminUser, IsAuthenticated
from rest_framework.views import APIView
`;

describe("get_permissions() by self.action", () => {
  it("returns instances per branch, with the last return for every other action", async () => {
    const project = await projectOf({
      "app/views.py": `${HEADER}
class ReportViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAuthenticated]

    def get_permissions(self):
        """Readers may list; only admins change."""
        if self.action in ("list", "retrieve"):
            return [AllowAny()]
        elif self.action == "destroy":
            return [permissions.IsAdminUser()]
        return [IsAuthenticated()]
`,
    });
    expect(permissionsOf(project, "app/views.py", "ReportViewSet", ["list", "retrieve", "destroy", "create", "export"])).toEqual({
      list: "AllowAny", retrieve: "AllowAny", destroy: "permissions.IsAdminUser", create: "IsAuthenticated", export: "IsAuthenticated",
    });
  });

  it("follows a local list assigned per branch, a negated test, and the view's own classes in the else", async () => {
    const project = await projectOf({
      "app/views.py": `${HEADER}
class TeamViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAdminUser]

    def get_permissions(self):
        if self.action == "create":
            permission_classes = [IsAuthenticated]
        elif self.action not in ("update", "partial_update"):
            permission_classes = [AllowAny]
        else:
            permission_classes = self.permission_classes
        return [permission() for permission in permission_classes]
`,
    });
    expect(permissionsOf(project, "app/views.py", "TeamViewSet", ["create", "list", "update", "partial_update"])).toEqual({
      create: "IsAuthenticated", list: "AllowAny", update: "IsAdminUser", partial_update: "IsAdminUser",
    });
  });

  it("reads self.permission_classes set for one action before super().get_permissions()", async () => {
    const project = await projectOf({
      "app/views.py": `${HEADER}
class MailViewSet(viewsets.ModelViewSet):
    permission_classes = (IsAdminUser,)

    def get_permissions(self):
        if self.action == "test":
            self.permission_classes = (IsAuthenticated,)
        return super().get_permissions()
`,
    });
    expect(permissionsOf(project, "app/views.py", "MailViewSet", ["test", "create"])).toEqual({ test: "IsAuthenticated", create: "IsAdminUser" });
  });

  it("looks the action up in a class dict, a subclass's dict included, falling back to the view's classes", async () => {
    const project = await projectOf({
      "app/base.py": `${HEADER}
class ByActionViewSet(viewsets.ModelViewSet):
    def get_permissions(self):
        try:
            return [p() for p in self.permission_classes_by_action[self.action]]
        except KeyError:
            return [p() for p in self.permission_classes]
`,
      "app/views.py": `${HEADER}
from app.base import ByActionViewSet


class TagViewSet(ByActionViewSet):
    permission_classes = [IsAdminUser]
    permission_classes_by_action = {"list": [AllowAny], "create": [IsAuthenticated]}
`,
    });
    expect(permissionsOf(project, "app/views.py", "TagViewSet", ["list", "create", "destroy"])).toEqual({
      list: "AllowAny", create: "IsAuthenticated", destroy: "IsAdminUser",
    });
  });

  it("keeps the view's classes, marked unknown, where the branch tests more than the action or the body is not understood", async () => {
    const project = await projectOf({
      "app/views.py": `${HEADER}
class StatusViewSet(viewsets.ViewSet):
    permission_classes = [IsAdminUser]

    def get_permissions(self):
        if self.action == "summary" and self.request.user.is_staff:
            return [IsAuthenticated()]
        return super().get_permissions()


class MethodViewSet(viewsets.ViewSet):
    permission_classes = [IsAdminUser]

    def get_permissions(self):
        if self.request.method == "GET":
            return [AllowAny()]
        return [IsAdminUser()]


class LoopViewSet(viewsets.ViewSet):
    permission_classes = [IsAdminUser]

    def get_permissions(self):
        for name in self.extra:
            pass
        return [AllowAny()]
`,
    });
    expect(permissionsOf(project, "app/views.py", "StatusViewSet", ["summary", "list"])).toEqual({ summary: "IsAdminUser ?", list: "IsAdminUser" });
    expect(permissionsOf(project, "app/views.py", "MethodViewSet", ["list"])).toEqual({ list: "IsAdminUser ?" });
    expect(permissionsOf(project, "app/views.py", "LoopViewSet", ["list"])).toEqual({ list: "IsAdminUser ?" });
  });

  it("applies an unconditional get_permissions() to a view that is not a viewset, and no action test to it", async () => {
    const project = await projectOf({
      "app/views.py": `${HEADER}
class PingView(APIView):
    permission_classes = [IsAdminUser]

    def get_permissions(self):
        return [AllowAny()]


class ActionTestView(APIView):
    permission_classes = [IsAdminUser]

    def get_permissions(self):
        if self.action == "list":
            return [AllowAny()]
        return [IsAdminUser()]
`,
    });
    expect(permissionsOf(project, "app/views.py", "PingView", [null])).toEqual({ "(none)": "AllowAny" });
    expect(permissionsOf(project, "app/views.py", "ActionTestView", [null])).toEqual({ "(none)": "IsAdminUser ?" });
  });
});

describe("@action(permission_classes=…) and routes", () => {
  const views = `${HEADER}
class NoteViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAdminUser]

    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def pin(self, request, pk=None):
        pass

    @action(detail=False)
    def recent(self, request):
        pass
`;
  const urls = `from rest_framework.routers import DefaultRouter

from app.views import NoteViewSet

router = DefaultRouter()
router.register("notes", NoteViewSet, basename="note")
urlpatterns = router.urls
`;

  it("replaces the view's classes for that action only, and gives each routed handler its own", async () => {
    const project = await projectOf({ "app/views.py": views, "app/urls.py": urls });
    expect(permissionsOf(project, "app/views.py", "NoteViewSet", ["pin", "recent", "create"])).toEqual({
      pin: "IsAuthenticated", recent: "IsAdminUser", create: "IsAdminUser",
    });
    const byRoute = Object.fromEntries(project.endpoints.map((e) => [e.route, e.handlers.map((h) => `${h.function.split(".").pop()}: ${h.permissions?.join(" ")}`)]));
    expect(byRoute["/notes/<pk>/pin/"]).toEqual(["pin: IsAuthenticated"]);
    expect(byRoute["/notes/recent/"]).toEqual(["recent: IsAdminUser"]);
    expect(byRoute["/notes/"]).toEqual(["list: IsAdminUser", "create: IsAdminUser"]);
  });

  it("under get_permissions() returning fixed classes, the decorator's classes are not the ones DRF runs", async () => {
    const project = await projectOf({
      "app/views.py": `${views}
    def get_permissions(self):
        return [IsAdminUser()]
`,
    });
    expect(permissionsOf(project, "app/views.py", "NoteViewSet", ["pin"])).toEqual({ pin: "IsAdminUser" });
  });
});

describe("authentication-only permission classes", () => {
  it("are AllowAny, IsAuthenticated and IsAuthenticatedOrReadOnly, composed or not; not a class the tree redefines, nor unknown ones", async () => {
    const project = await projectOf({
      "app/permissions.py": `from rest_framework.permissions import BasePermission


class IsAuthenticated(BasePermission):
    def has_permission(self, request, view):
        return request.user.has_perm("app.use_api")
`,
      "app/views.py": `${HEADER}
from app import permissions as own


class A(APIView):
    permission_classes = [IsAuthenticated | AllowAny, permissions.IsAuthenticatedOrReadOnly]


class B(APIView):
    permission_classes = [IsAuthenticated, IsAdminUser]


class C(APIView):
    permission_classes = [own.IsAuthenticated]


class D(APIView):
    pass
`,
    });
    const file = project.files.find((f) => f.path === "app/views.py")!;
    const verdict = (name: string) => authenticationOnly(project.index, actionPermissions(project.index, project.settings, file, file.classes.find((c) => c.name === name)!, null));
    expect(["A", "B", "C", "D"].map(verdict)).toEqual([true, false, false, false]);
  });

  it("count DRF's default AllowAny only when a settings module is read", async () => {
    const view = `${HEADER}\n\nclass D(APIView):\n    pass\n`;
    const project = await projectOf({ "settings.py": `DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql"}}\n`, "app/views.py": view });
    const file = project.files.find((f) => f.path === "app/views.py")!;
    expect(authenticationOnly(project.index, actionPermissions(project.index, project.settings, file, file.classes[0]!, null))).toBe(true);
  });
});
