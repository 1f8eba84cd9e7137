"""GitHub and GitLab webhook deliveries shaped as their docs show them (headers and bodies;
GitHub: docs.github.com "Webhook events and payloads" and octokit/webhooks' payload
examples; GitLab: doc/user/project/integrations/webhook_events.md), long URL lists cut."""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid

GITHUB_REPOSITORY = {
    "id": 186853002, "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=", "name": "Hello-World",
    "full_name": "Codertocat/Hello-World", "private": False,
    "owner": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com",
              "login": "Codertocat", "id": 21031067, "node_id": "MDQ6VXNlcjIxMDMxMDY3",
              "avatar_url": "https://avatars1.githubusercontent.com/u/21031067?v=4", "gravatar_id": "",
              "url": "https://api.github.com/users/Codertocat", "html_url": "https://github.com/Codertocat",
              "type": "User", "site_admin": False},
    "html_url": "https://github.com/Codertocat/Hello-World", "description": None, "fork": False,
    "url": "https://github.com/Codertocat/Hello-World",
    "statuses_url": "https://api.github.com/repos/Codertocat/Hello-World/statuses/{sha}",
    "deployments_url": "https://api.github.com/repos/Codertocat/Hello-World/deployments",
    "created_at": 1557933565, "updated_at": "2019-05-15T15:20:41Z", "pushed_at": 1557933657,
    "git_url": "git://github.com/Codertocat/Hello-World.git",
    "ssh_url": "git@github.com:Codertocat/Hello-World.git",
    "clone_url": "https://github.com/Codertocat/Hello-World.git", "homepage": None, "size": 0,
    "language": "Ruby", "archived": False, "disabled": False, "forks": 1, "open_issues": 2, "watchers": 0,
    "default_branch": "master", "stargazers": 0, "master_branch": "master", "is_template": False,
    "topics": [], "visibility": "public", "web_commit_signoff_required": False,
}
GITHUB_SENDER = {
    "login": "Codertocat", "id": 21031067, "node_id": "MDQ6VXNlcjIxMDMxMDY3",
    "avatar_url": "https://avatars1.githubusercontent.com/u/21031067?v=4", "gravatar_id": "",
    "url": "https://api.github.com/users/Codertocat", "html_url": "https://github.com/Codertocat",
    "type": "User", "site_admin": False,
}


def github_ping() -> dict:
    return {
        "zen": "Keep it logically awesome.", "hook_id": 292430182,
        "hook": {"type": "Repository", "id": 292430182, "name": "web", "active": True, "events": ["*"],
                 "config": {"content_type": "json", "insecure_ssl": "0", "url": "https://hat.example.com/"},
                 "updated_at": "2019-05-15T15:20:49Z", "created_at": "2019-05-15T15:20:49Z",
                 "url": "https://api.github.com/repos/Codertocat/Hello-World/hooks/292430182",
                 "test_url": "https://api.github.com/repos/Codertocat/Hello-World/hooks/292430182/test",
                 "ping_url": "https://api.github.com/repos/Codertocat/Hello-World/hooks/292430182/pings",
                 "last_response": {"code": None, "status": "unused", "message": None}},
        "repository": copy.deepcopy(GITHUB_REPOSITORY), "sender": copy.deepcopy(GITHUB_SENDER),
    }


def github_push(branch: str = "master", *, deleted: bool = False) -> dict:
    after = "0" * 40 if deleted else "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
    return {
        "ref": f"refs/heads/{branch}", "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "after": after,
        "created": False, "deleted": deleted, "forced": False, "base_ref": None,
        "compare": "https://github.com/Codertocat/Hello-World/compare/6113728f27ae...0d1a26e67d8f",
        "commits": [] if deleted else [{
            "id": after, "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433", "distinct": True,
            "message": "Update README.md", "timestamp": "2019-05-15T15:20:30-05:00",
            "url": f"https://github.com/Codertocat/Hello-World/commit/{after}",
            "author": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com",
                       "username": "Codertocat"},
            "committer": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com",
                          "username": "Codertocat"},
            "added": [], "removed": [], "modified": ["README.md"]}],
        "head_commit": None,
        "repository": copy.deepcopy(GITHUB_REPOSITORY),
        "pusher": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com"},
        "sender": copy.deepcopy(GITHUB_SENDER),
    }


def github_deployment_status(state: str = "success", environment: str = "production") -> dict:
    sha = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
    deployment = {
        "url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/326191728",
        "id": 326191728, "node_id": "MDEwOkRlcGxveW1lbnQzMjYxOTE3Mjg=", "task": "deploy",
        "original_environment": environment, "environment": environment, "description": None,
        "created_at": "2021-02-18T08:22:48Z", "updated_at": "2021-02-18T09:47:16Z",
        "statuses_url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/326191728/statuses",
        "repository_url": "https://api.github.com/repos/Codertocat/Hello-World",
        "creator": copy.deepcopy(GITHUB_SENDER),
        "sha": sha, "ref": "master", "payload": {}, "transient_environment": False,
        "production_environment": environment == "production", "performed_via_github_app": None,
    }
    return {
        "action": "created",
        "deployment_status": {
            "url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/326191728/statuses/1",
            "id": 1, "node_id": "MDE2OkRlcGxveW1lbnRTdGF0dXMx", "state": state,
            "creator": copy.deepcopy(GITHUB_SENDER),
            "description": "", "environment": environment, "target_url": "", "log_url": "",
            "created_at": "2021-02-18T09:47:16Z", "updated_at": "2021-02-18T09:47:16Z",
            "deployment_url": deployment["url"], "repository_url": deployment["repository_url"],
            "performed_via_github_app": None},
        "deployment": deployment,
        "repository": copy.deepcopy(GITHUB_REPOSITORY), "sender": copy.deepcopy(GITHUB_SENDER),
    }


def github_headers(event: str, body: bytes, secret: str, *, delivery: str | None = None) -> dict:
    """As GitHub sends them (its docs' "Example webhook delivery")."""
    return {
        "X-GitHub-Delivery": delivery or str(uuid.uuid1()),
        "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "User-Agent": "GitHub-Hookshot/044aadd",
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Hook-ID": "292430182",
        "X-GitHub-Hook-Installation-Target-ID": "79929171",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
    }


GITLAB_PROJECT = {
    "id": 15, "name": "Diaspora", "description": "", "web_url": "http://example.com/mike/diaspora",
    "avatar_url": None, "git_ssh_url": "git@example.com:mike/diaspora.git",
    "git_http_url": "http://example.com/mike/diaspora.git", "namespace": "Mike", "visibility_level": 0,
    "path_with_namespace": "mike/diaspora", "default_branch": "master",
    "homepage": "http://example.com/mike/diaspora", "url": "git@example.com:mike/diaspora.git",
    "ssh_url": "git@example.com:mike/diaspora.git", "http_url": "http://example.com/mike/diaspora.git",
}


def gitlab_push(branch: str = "master") -> dict:
    return {
        "object_kind": "push", "event_name": "push", "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
        "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "ref": f"refs/heads/{branch}",
        "ref_protected": True,
        "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "user_id": 4, "user_name": "John Smith",
        "user_username": "jsmith", "user_email": "john@example.com",
        "user_avatar": "https://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=80",
        "project_id": 15, "project": copy.deepcopy(GITLAB_PROJECT),
        "repository": {"name": "Diaspora", "url": "git@example.com:mike/diaspora.git", "description": "",
                       "homepage": "http://example.com/mike/diaspora",
                       "git_http_url": "http://example.com/mike/diaspora.git",
                       "git_ssh_url": "git@example.com:mike/diaspora.git", "visibility_level": 0},
        "commits": [{
            "id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "message": "fixed readme",
            "title": "fixed readme",
            "timestamp": "2012-01-03T23:36:29+02:00",
            "url": "http://example.com/mike/diaspora/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
            "author": {"name": "GitLab dev user", "email": "gitlabdev@dv6700.(none)"},
            "added": ["CHANGELOG"], "modified": ["app/controller/application.rb"], "removed": []}],
        "total_commits_count": 4,
    }


def gitlab_deployment(status: str = "success", environment: str = "staging") -> dict:
    return {
        "object_kind": "deployment", "status": status, "status_changed_at": "2021-04-28 21:50:00 +0200",
        "deployment_id": 15, "deployable_id": 796,
        "deployable_url": "http://10.126.0.2:3000/root/test-deployment-webhooks/-/jobs/796",
        "environment": environment, "environment_tier": environment, "environment_slug": environment,
        "environment_external_url": f"https://{environment}.example.com",
        "project": copy.deepcopy(GITLAB_PROJECT), "short_sha": "279484c0",
        "user": {"id": 1, "name": "Administrator", "username": "root",
                 "avatar_url": "https://www.gravatar.com/avatar/e64c7d89f26bd1972efa854d13d7dd61?s=80&d=identicon",
                 "email": "admin@example.com"},
        "user_url": "http://10.126.0.2:3000/root",
        "commit_url": "http://10.126.0.2:3000/root/test-deployment-webhooks/-/commit/"
                      "279484c09fbe69ededfced8c1bb6e6d24616b468",
        "commit_title": "Add new file",
    }


def gitlab_headers(event: str, token: str, *, idempotency_key: str | None = None) -> dict:
    """As GitLab 17.4+ sends them (webhooks.md "Delivery headers")."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/17.4.0",
        "X-Gitlab-Event": event,
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "X-Gitlab-Webhook-UUID": "2b1c0a86-6c61-4c5e-9fd1-5c8a6c1d2a01",
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
        "Idempotency-Key": idempotency_key or str(uuid.uuid4()),
        "X-Gitlab-Token": token,
    }


def encode(payload: dict) -> bytes:
    return json.dumps(payload, indent=2).encode()
