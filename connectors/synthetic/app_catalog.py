"""The app catalog: each app's kind, Okta label and role-based access rules.

The first apps are the ones small tenants get, so they cover every source shape: SCIM apps
with and without group push, an Okta-managed app known from a CSV, and CSV-only apps.
"""

from __future__ import annotations

from connectors.synthetic.catalog import EXTERNAL_DEPT, AppTemplate, Rule

__all__ = ["APP_CATALOG"]


def _all(*roles: str, groups: tuple[str, ...] = (), ents: tuple[str, ...] = ()) -> Rule:
    return Rule("*", "*", groups, tuple(roles), ents)


APP_CATALOG: tuple[AppTemplate, ...] = (
    AppTemplate(
        "github", "GitHub", "githubcloud", "scim_okta", push=True, user_style="handle",
        reports=("display_name",), cost=21.0, extras=("copilot-beta", "billing-manager"),
        list_groups_on_users=True,
        rules=(
            Rule("Engineering", "*", ("engineering",), ("member",)),
            Rule("Engineering", "Site Reliability Engineer", ("sre",)),
            Rule("Engineering", "Data Engineer", ("data",)),
            Rule("Engineering", "Engineering Manager", ("release-managers",)),
            Rule("Engineering", "Director of Engineering", ("release-managers",), ("owner",)),
            Rule("Product", "Technical Writer", ("docs",), ("member",)),
            Rule("Product", "Product Manager", ("product",), ("member",)),
            Rule("Security", "*", ("security",), ("member",)),
            Rule("IT", "Systems Engineer", ("it-automation",), ("member",)),
        ),
    ),
    AppTemplate(
        "slack", "Slack", "slack", "scim_okta", push=True, cost=8.75, page_size=100,
        extras=("huddles-beta", "workflow-builder"),
        rules=(
            _all("member", groups=("team-{dept}",)),
            Rule("IT", "Systems Engineer", (), ("workspace-admin",)),
            Rule(EXTERNAL_DEPT, "Auditor", (), ("guest",)),
            Rule(EXTERNAL_DEPT, "Board Member", (), ("guest",)),
        ),
    ),
    AppTemplate(
        "netsuite", "NetSuite", "netsuite", "csv_only", cost=99.0, extras=("Budget Viewer",),
        rules=(
            Rule("Finance", "Accountant", (), ("Accountant", "GL Poster")),
            Rule("Finance", "Accounts Payable Specialist", (), ("AP Clerk", "Vendor Maintenance")),
            Rule("Finance", "Controller", (), ("Controller", "AP Approver")),
            Rule("Finance", "Financial Analyst", (), ("Reports Viewer",)),
            Rule("Finance", "Payroll Specialist", (), ("Payroll Processor",)),
            Rule("Executive", "Chief Executive Officer", (), ("Reports Viewer",)),
            Rule("IT", "Systems Engineer", (), ("Administrator",)),
        ),
    ),
    AppTemplate(
        "zoom", "Zoom", "zoomus", "csv_okta", cost=13.33, extras=("Large Meeting",),
        rules=(
            _all("Licensed"),
            Rule("Sales", "*", (), ("Webinar",)),
            Rule("Marketing", "*", (), ("Webinar",)),
        ),
    ),
    AppTemplate(
        "expensify", "Expensify", "expensify", "csv_only", csv_format="b", cost=5.0,
        reports=(), extras=("card-holder",),
        rules=(
            _all("submitter"),
            Rule("Finance", "*", (), ("approver",)),
            Rule("Executive", "*", (), ("approver",)),
            Rule("Engineering", "Engineering Manager", (), ("approver",)),
            Rule("Sales", "Sales Manager", (), ("approver",)),
            Rule(EXTERNAL_DEPT, "Advisor", (), ("submitter",)),
        ),
    ),
    AppTemplate(
        "aws", "AWS", "amazon_aws_sso", "scim_okta", push=True, reports=("email", "display_name"),
        cost=0.0, extras=("cost-explorer",),
        privileged_pool=("iam-admin", "billing-admin", "security-admin", "network-admin",
                         "org-admin"),
        time_bound=(("prod-admin", 7),),
        rules=(
            Rule("Engineering", "Software Engineer", ("developers",)),
            Rule("Engineering", "Senior Software Engineer", ("developers",)),
            Rule("Engineering", "QA Engineer", ("developers",)),
            Rule("Engineering", "Site Reliability Engineer",
                 ("developers", "prod-deploy", "prod-readonly")),
            Rule("Engineering", "Data Engineer", ("developers", "data-lake")),
            Rule("Engineering", "Engineering Manager", ("developers", "prod-readonly")),
            Rule("Engineering", "Director of Engineering", ("prod-readonly",)),
            Rule("IT", "Systems Engineer", ("iam-admin", "prod-readonly")),
            Rule("Security", "*", ("security-audit", "prod-readonly")),
            Rule("Security", "Security Architect", ("security-admin",)),
            Rule("Finance", "Controller", ("billing-viewer",)),
        ),
    ),
    AppTemplate(
        "jira", "Jira", "atlassian_jira", "scim_okta", push=True,
        reports=("email", "display_name"), cost=7.75,
        extras=("beta-tester", "automation-editor"),
        rules=(
            Rule("Engineering", "*", ("jira-software-users",), ("developer",)),
            Rule("Engineering", "Engineering Manager", (), ("change-approver",)),
            Rule("Engineering", "Director of Engineering", (), ("change-approver",)),
            Rule("Product", "*", ("jira-software-users",), ("product-owner",)),
            Rule("Customer Support", "*", ("jira-servicedesk-users",), ("service-desk-agent",)),
            Rule("IT", "*", ("jira-servicedesk-users",), ("service-desk-agent",)),
            Rule("Security", "*", ("jira-software-users",), ("developer",)),
        ),
    ),
    AppTemplate(
        "salesforce", "Salesforce", "salesforce", "scim_okta", cost=150.0,
        extras=("Report Builder", "Data Export"),
        rules=(
            Rule("Sales", "*", (), ("Sales User",), ("Sales Cloud",)),
            Rule("Sales", "Sales Manager", (), ("Sales Manager",)),
            Rule("Sales", "VP of Sales", (), ("Sales Executive",)),
            Rule("Customer Support", "*", (), ("Support Agent",), ("Service Cloud",)),
            Rule("Marketing", "*", (), ("Marketing User",), ("Sales Cloud",)),
        ),
    ),
    AppTemplate(
        "confluence", "Confluence", "atlassian_confluence", "scim_okta", push=True,
        reports=("email", "display_name"), cost=5.75, extras=("space-creator",),
        rules=(
            _all("user", groups=("confluence-users",)),
            Rule("Engineering", "*", ("engineering-space",)),
            Rule("Product", "*", ("product-space",)),
        ),
    ),
    AppTemplate(
        "datadog", "Datadog", "datadog", "scim_okta", cost=31.0, extras=("Datadog Read Only",),
        rules=(
            Rule("Engineering", "*", (), ("Datadog Standard Role",)),
            Rule("Security", "*", (), ("Datadog Standard Role",)),
            Rule("IT", "Systems Engineer", (), ("Datadog Admin Role",)),
        ),
    ),
    AppTemplate(
        "figma", "Figma", "figma", "csv_okta", cost=45.0, extras=("Dev Mode",),
        rules=(
            Rule("Product", "*", (), ("Editor",)),
            Rule("Marketing", "*", (), ("Editor",)),
            Rule("Engineering", "Software Engineer", (), ("Viewer",)),
            Rule("Engineering", "Senior Software Engineer", (), ("Viewer",)),
        ),
    ),
    AppTemplate(
        "greenhouse", "Greenhouse", "greenhouse", "csv_only", cost=25.0, extras=("Job Approver",),
        rules=(
            Rule("People", "*", (), ("Recruiter",)),
            Rule("People", "HR Business Partner", (), ("Site Admin",)),
            Rule("Engineering", "Engineering Manager", (), ("Interviewer", "Hiring Manager")),
            Rule("Engineering", "Senior Software Engineer", (), ("Interviewer",)),
            Rule("Sales", "Sales Manager", (), ("Interviewer", "Hiring Manager")),
        ),
    ),
    AppTemplate(
        "zendesk", "Zendesk", "zendesk", "scim_okta", push=True, cost=55.0,
        extras=("light-agent",),
        rules=(
            Rule("Customer Support", "*", ("support-tier1",), ("agent",)),
            Rule("Customer Support", "Support Team Lead", ("support-tier2",)),
        ),
    ),
    AppTemplate(
        "hubspot", "HubSpot", "hubspot", "scim_okta", cost=45.0, extras=("Reporting Add-on",),
        rules=(
            Rule("Marketing", "*", (), ("Marketing Hub Pro",)),
            Rule("Sales", "*", (), ("Sales Hub",)),
        ),
    ),
    AppTemplate(
        "pagerduty", "PagerDuty", "pagerduty", "scim_okta", push=True, cost=21.0,
        extras=("stakeholder",),
        rules=(
            Rule("Engineering", "Site Reliability Engineer", ("oncall-sre",), ("responder",)),
            Rule("Engineering", "Senior Software Engineer", ("oncall-backend",), ("responder",)),
            Rule("Engineering", "Engineering Manager", (), ("observer",)),
            Rule("Security", "Security Engineer", ("oncall-security",), ("responder",)),
        ),
    ),
    AppTemplate(
        "notion", "Notion", "notion", "scim_okta", cost=10.0, list_groups_on_users=True,
        extras=("guest-inviter",),
        rules=(_all("member", groups=("{dept}-wiki",)),),
    ),
    AppTemplate(
        "docusign", "DocuSign", "docusign", "csv_only", csv_format="b", cost=40.0, reports=(),
        extras=("bulk-sender",),
        rules=(
            Rule("Legal", "*", (), ("sender",)),
            Rule("Sales", "Sales Manager", (), ("sender",)),
            Rule("Finance", "Controller", (), ("sender",)),
            Rule("People", "*", (), ("sender",)),
            Rule("Executive", "*", (), ("signer",)),
            Rule(EXTERNAL_DEPT, "Board Member", (), ("signer",)),
        ),
    ),
    AppTemplate(
        "snowflake", "Snowflake", "snowflake", "scim_okta", push=True,
        reports=("email", "display_name"), cost=0.0, extras=("SANDBOX",),
        rules=(
            Rule("Engineering", "Data Engineer", ("ANALYST", "TRANSFORMER")),
            Rule("Finance", "Financial Analyst", ("ANALYST",)),
            Rule("Product", "Product Manager", ("REPORTER",)),
        ),
    ),
    AppTemplate(
        "tableau", "Tableau", "tableau", "csv_okta", cost=70.0, extras=("Site Publisher",),
        rules=(
            Rule("Finance", "*", (), ("Viewer",)),
            Rule("Finance", "Financial Analyst", (), ("Creator",)),
            Rule("Sales", "Sales Manager", (), ("Viewer",)),
            Rule("Product", "Product Manager", (), ("Viewer",)),
            Rule("Engineering", "Data Engineer", (), ("Explorer",)),
        ),
    ),
    AppTemplate(
        "1password", "1Password", "onepassword", "scim_okta", push=True, cost=7.99,
        reports=("email", "display_name"), extras=("travel-mode",),
        rules=(
            _all("member", groups=("all-staff",)),
            Rule("IT", "*", ("it-vault",)),
            Rule("Security", "*", ("security-vault",)),
        ),
    ),
    AppTemplate(
        "miro", "Miro", "miro", "csv_only", csv_format="b", cost=8.0, reports=(),
        extras=("team-creator",),
        rules=(
            Rule("Product", "*", (), ("editor",)),
            Rule("Marketing", "*", (), ("editor",)),
            Rule("Engineering", "Engineering Manager", (), ("editor",)),
        ),
    ),
    AppTemplate(
        "sentry", "Sentry", "sentry", "scim_okta", cost=26.0, extras=("billing",),
        reports=("email", "display_name"),
        rules=(
            Rule("Engineering", "*", (), ("member",)),
            Rule("Engineering", "Director of Engineering", (), ("manager",)),
        ),
    ),
    AppTemplate(
        "lattice", "Lattice", "lattice", "csv_only", cost=11.0, extras=("Survey Creator",),
        rules=(
            _all("Employee"),
            Rule("Engineering", "Engineering Manager", (), ("Manager",)),
            Rule("Sales", "Sales Manager", (), ("Manager",)),
            Rule("People", "*", (), ("HR Admin",)),
        ),
    ),
    AppTemplate(
        "box", "Box", "boxnet", "scim_okta", push=True, cost=15.0, extras=("shield-reviewer",),
        rules=(
            Rule("Legal", "*", ("legal",), ("user",)),
            Rule("Finance", "*", ("finance",), ("user",)),
            Rule("Marketing", "*", ("marketing",), ("user",)),
            Rule("Sales", "*", ("sales",), ("user",)),
            Rule(EXTERNAL_DEPT, "Auditor", ("audit-share",), ("user",)),
        ),
    ),
    AppTemplate(
        "asana", "Asana", "asana", "csv_okta", cost=13.49, extras=("Portfolio Manager",),
        rules=(
            Rule("Marketing", "*", (), ("Member",)),
            Rule("Product", "*", (), ("Member",)),
            Rule("People", "*", (), ("Member",)),
            Rule("Operations", "*", (), ("Member",)),
        ),
    ),
    AppTemplate(
        "linear", "Linear", "linear", "scim_okta", cost=8.0, extras=("guest",),
        reports=("email", "display_name"),
        rules=(Rule("Engineering", "*", (), ("member",)), Rule("Product", "*", (), ("member",))),
    ),
    AppTemplate(
        "looker", "Looker", "looker", "csv_only", csv_format="b", cost=60.0, reports=(),
        extras=("developer",),
        rules=(
            Rule("Finance", "Financial Analyst", (), ("explorer",)),
            Rule("Engineering", "Data Engineer", (), ("developer-mode",)),
            Rule("Product", "Product Manager", (), ("viewer",)),
        ),
    ),
)
