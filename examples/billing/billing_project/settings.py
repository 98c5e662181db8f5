"""Django 3.2 settings for the billing example (PostgreSQL, DRF with HTTP Basic Auth).

Every endpoint is reachable with ``Authorization: Basic ...``: DRF's BasicAuthentication
re-checks the password and ``is_active`` on each request, but nothing re-checks group
membership, invoice state or quotas between a view's check and its write.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-dev-key-for-the-billing-example")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "invoices.apps.InvoicesConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "billing_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "billing_project.wsgi.application"

# PostgreSQL, in autocommit mode (no ATOMIC_REQUESTS): each view opens its own
# transactions, and select_for_update() outside one raises TransactionManagementError.
# The audit log reads commit timestamps: the server needs track_commit_timestamp = on
# (the demo's throw-away cluster sets it).
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BILLING_DB_NAME", "billing"),
        "USER": os.environ.get("BILLING_DB_USER", "billing"),
        "PASSWORD": os.environ.get("BILLING_DB_PASSWORD", ""),
        "HOST": os.environ.get("BILLING_DB_HOST", "localhost"),
        "PORT": os.environ.get("BILLING_DB_PORT", "5432"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_L10N = True
USE_TZ = True

STATIC_URL = "/static/"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
    ],
}

# Seconds the provider stubs in invoices/services.py (payment gateway, tax service, voucher
# partner) sleep per call: the window in which a concurrent request can change what a
# vulnerable view already checked.
BILLING_GATEWAY_LATENCY = float(os.environ.get("BILLING_GATEWAY_LATENCY", "2.0"))

# Mount the staff-only /api/demo/ endpoints (round setup, revocation, ledger, audit) that
# the live demo's race probes use. Off unless the environment turns it on.
BILLING_DEMO_API = os.environ.get("BILLING_DEMO_API", "0") == "1"
