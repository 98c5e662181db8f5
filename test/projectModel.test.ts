/** The project model itself: settings, routes, Basic Auth reach with its reason, resolved bases. */
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { discover } from "../src/discover/discover.js";
import { readSource } from "../src/discover/readSource.js";
import { extractFileFacts } from "../src/extract/extractFileFacts.js";
import { type Project, buildProject } from "../src/project/buildProject.js";
import { ancestorNames } from "../src/project/classes.js";
import { tempProject } from "./helpers/tempProject.js";

async function projectOf(dir: string): Promise<Project> {
  const found = discover({ cwd: dir, paths: [dir], exclude: [] });
  const facts = [];
  for (const file of found.files) {
    const source = readSource(file.absolute, 5 * 1024 * 1024);
    if (source.ok) facts.push(await extractFileFacts(file.path, source.text));
  }
  return buildProject(facts, { rootName: basename(found.root) });
}

const fixtures = join(import.meta.dirname, "fixtures", "projects");

describe("split settings with a Basic Auth middleware", async () => {
  const project = await projectOf(join(fixtures, "split_settings_middleware"));

  it("reads the settings module DJANGO_SETTINGS_MODULE names, through its star import", () => {
    expect(project.settings.modules.map((m) => m.module)).toEqual(["mysite.settings.production"]);
    expect(project.settings.files).toEqual(["mysite/settings/base.py", "mysite/settings/production.py"]);
    const [production] = project.settings.modules;
    expect(production!.middleware).toEqual([
      "django.middleware.gzip.GZipMiddleware",
      "django.middleware.security.SecurityMiddleware",
      "django.contrib.sessions.middleware.SessionMiddleware",
      "django.contrib.auth.middleware.AuthenticationMiddleware",
      "accounts.middleware.BasicAuthMiddleware",
    ]);
    expect(production!.rootUrlconf).toBe("mysite.urls");
    expect(production!.drfAuthentication).toEqual(["rest_framework.authentication.SessionAuthentication"]);
    expect(production!.engines).toEqual(["django.db.backends.postgresql"]);
    expect(project.settings.sqliteOnly).toBe(false);
  });

  it("routes include(), re_path and a router @action to their handlers", () => {
    expect(project.endpoints.map((e) => [e.route, e.methods.join(","), e.handlers.map((h) => h.function).join(",")])).toEqual([
      ["/legacy/orders/<pk>/cancel/", "ANY", "cancel_order"],
      ["/shop/orders/<pk>/ship/", "POST", "OrderViewSet.ship"],
    ]);
  });

  it("makes every view Basic-reachable through the middleware, and says so", () => {
    for (const endpoint of project.endpoints) {
      expect(endpoint.basicAuth).toBe(true);
      expect(endpoint.basicAuthReasons).toContain(
        "middleware accounts.middleware.BasicAuthMiddleware (mysite/settings/production.py) decodes HTTP_AUTHORIZATION Basic credentials for every view",
      );
    }
    const ship = project.endpoints.find((e) => e.route.endsWith("/ship/"))!;
    expect(ship.basicAuthReasons[0]).toBe("authentication_classes on OrderViewSet includes BasicAuthentication");
    expect(ship.drf).toBe(true);
  });

  it("resolves class bases across files and into DRF", () => {
    const views = project.files.find((f) => f.path === "shop/views.py")!;
    const cls = views.classes.find((c) => c.name === "OrderViewSet")!;
    expect(ancestorNames(project.index, views, cls)).toEqual(["OrderViewSet", "AuditedViewSet", "GenericViewSet"]);
  });
});

describe("Basic Auth reach from DRF settings and defaults", () => {
  const view = `from rest_framework.decorators import api_view
from rest_framework.response import Response


@api_view(["GET", "POST"])
def ping(request):
    return Response({"ok": True})
`;
  const urls = `from django.urls import path

from . import views

urlpatterns = [path("ping/", views.ping)]
`;

  it("counts DRF's own default authentication classes, which include BasicAuthentication", async () => {
    const project = await projectOf(tempProject({ "api/__init__.py": "", "api/views.py": view, "api/urls.py": urls }));
    expect(project.endpoints).toHaveLength(1);
    expect(project.endpoints[0]!.methods).toEqual(["GET", "POST"]);
    expect(project.endpoints[0]!.basicAuthReasons).toEqual([
      "DRF's default DEFAULT_AUTHENTICATION_CLASSES (not set in settings) includes rest_framework.authentication.BasicAuthentication",
    ]);
  });

  it("is not reachable when the settings keep only token authentication", async () => {
    const settings = `REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"]}\nDATABASES = {"default": {"ENGINE": "django.db.backends.postgresql"}}\n`;
    const project = await projectOf(tempProject({ "settings.py": settings, "api/__init__.py": "", "api/views.py": view, "api/urls.py": urls }));
    expect(project.endpoints[0]!.basicAuth).toBe(false);
    expect(project.endpoints[0]!.authentication).toEqual(["rest_framework.authentication.TokenAuthentication"]);
  });

  it("follows a custom authentication class that decodes the Basic header itself", async () => {
    const auth = `import base64
from rest_framework.authentication import BaseAuthentication


class HeaderAuth(BaseAuthentication):
    def authenticate(self, request):
        raw = request.META.get("HTTP_AUTHORIZATION", "")[6:]
        return base64.b64decode(raw), None
`;
    const settings = `REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.HeaderAuth"]}\n`;
    const project = await projectOf(tempProject({ "settings.py": settings, "api/__init__.py": "", "api/auth.py": auth, "api/views.py": view, "api/urls.py": urls }));
    expect(project.endpoints[0]!.basicAuthReasons).toEqual([
      'REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] in settings.py includes api.auth.HeaderAuth (its authenticate() decodes the Authorization: Basic header)',
    ]);
  });
});

describe("routes with a variable prefix", () => {
  it("routes include() under a prefix held in a variable or an f-string, keeping the pattern's own part", async () => {
    const views = `from django.http import HttpResponse\n\n\ndef ping(request):\n    return HttpResponse()\n`;
    const app = `from django.urls import path\n\nfrom . import views\n\nurlpatterns = [path("ping/", views.ping)]\n`;
    const root = `from django.urls import include, path\n\nPREFIX = "api/"\nversion = "v2"\n\nurlpatterns = [\n    path(PREFIX, include("app.urls")),\n    path(f"{version}/", include("app.urls")),\n]\n`;
    const settings = `ROOT_URLCONF = "proj.urls"\n`;
    const project = await projectOf(tempProject({ "proj/settings.py": settings, "proj/urls.py": root, "app/__init__.py": "", "app/views.py": views, "app/urls.py": app }));
    expect(project.endpoints.map((e) => e.handlers.map((h) => h.function).join(","))).toEqual(["ping", "ping"]);
    expect(project.endpoints.every((e) => e.route.endsWith("ping/"))).toBe(true);
  });
});

describe("routers spliced into an inline include, and typed view bases", () => {
  it("routes `*router.urls` inside include([...]) and reads a DRF view whose base is subscripted", async () => {
    const views = `from typing import Any

from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.viewsets import ModelViewSet

from .models import Tag


class TagViewSet(ModelViewSet[Tag]):
    queryset = Tag.objects.all()


class StatusView(GenericAPIView[Any]):
    def get(self, request):
        return Response({})
`;
    const urls = `from django.urls import include, path, re_path
from rest_framework.routers import DefaultRouter

from .views import StatusView, TagViewSet

router = DefaultRouter()
router.register(r"tags", TagViewSet)

urlpatterns = [
    re_path(r"^api/", include([
        path("status/", StatusView.as_view()),
        *router.urls,
    ])),
]
`;
    const project = await projectOf(tempProject({ "api/__init__.py": "", "api/views.py": views, "api/urls.py": urls }));
    const routes = project.endpoints.map((e) => `${e.route} ${e.drf ? "drf" : "django"} ${e.basicAuth ? "basic" : "-"}`).sort();
    expect(routes).toEqual(["/api/status/ drf basic", "/api/tags/ drf basic", "/api/tags/<pk>/ drf basic"]);
  });
});

describe("Basic Auth reach of the authentication code itself", () => {
  it("marks the methods of a BasicAuthentication subclass as running in Basic-Auth requests", async () => {
    const auth = `from rest_framework.authentication import BasicAuthentication\n\n\nclass TenantBasicAuthentication(BasicAuthentication):\n    def authenticate_credentials(self, userid, password, request=None):\n        return super().authenticate_credentials(userid, password, request)\n`;
    const project = await projectOf(tempProject({ "api/__init__.py": "", "api/auth.py": auth }));
    const file = project.files.find((f) => f.path === "api/auth.py")!;
    const fn = file.functions.find((f) => f.name === "TenantBasicAuthentication.authenticate_credentials")!;
    expect(project.basicAuthCode.has(fn)).toBe(true);
  });
});
