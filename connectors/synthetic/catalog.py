"""Static data of the synthetic tenant: names, the org chart's roles and the app catalog.

Access in the background is strictly role-based: an app's rules map (department, title) to the
groups, roles and licence entitlements every holder of that role gets, so peers always hold the
same entitlements and nothing is an outlier by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "FIRST_NAMES",
    "LAST_NAMES",
    "NICKNAMES",
    "ROLES",
    "RoleSpec",
    "Rule",
    "AppTemplate",
    "EXTERNAL_DEPT",
    "EXTERNAL_TITLES",
    "DOMAIN",
    "OKTA_HOST",
    "SOD_RULES",
    "PRIVILEGED",
]

DOMAIN = "acme.example"
OKTA_HOST = "acme.okta.example"
PRIVILEGED = ("*admin*", "owner")

FIRST_NAMES = (
    "Aaliyah Aaron Abigail Adam Adrian Aisha Alan Alejandro Alex Alice Amara Amelia Ana Andre "
    "Andrew Angela Anna Anthony Arjun Ava Beatriz Ben Bianca Brandon Brian Camila Carlos Carmen "
    "Caroline Chen Chloe Chris Claire Daniel David Deepa Diana Diego Dmitri Elena Eli Elijah "
    "Emily Emma Eric Ethan Fatima Felix Fiona Gabriel Grace Hana Hannah Hassan Henry Ian Imani "
    "Isaac Isabella Ivan Jack Jacob James Jasmine Javier Jessica Joao John Jordan Jose Joseph "
    "Julia Kai Karen Kenji Kevin Laila Laura Leo Liam Lina Lucas Lucy Maria Mark Maya Mei Michael "
    "Mohammed Nadia Naomi Nathan Nia Noah Olga Olivia Omar Oscar Priya Rafael Rahul Rebecca Robert "
    "Rosa Ryan Samir Samuel Sara Sean Sofia Sophie Stefan Tariq Thomas Tomas Valentina Victor "
    "William Yara Yusuf Zoe"
).split()
LAST_NAMES = (
    "Abbott Adams Ahmed Alvarez Anderson Bailey Baker Banerjee Becker Bennett Brooks Brown "
    "Campbell Carter Castillo Chen Clark Collins Cooper Costa Cruz Davies Diaz Dubois Edwards "
    "Evans Fernandez Fischer Flores Foster Garcia Gomez Gonzalez Green Gupta Hall Hansen Harris "
    "Hernandez Hill Hoffmann Hughes Ito Jackson Jensen Johnson Jones Kaur Kelly Khan Kim King "
    "Kowalski Kumar Larsen Lee Lewis Li Lopez Martin Martinez Mendoza Miller Mitchell Moore "
    "Morales Morgan Murphy Nakamura Nguyen Novak Okafor Oliveira Ortiz Park Patel Perez Peters "
    "Petrov Phillips Price Ramirez Reed Reyes Richardson Rivera Roberts Robinson Rodriguez Rossi "
    "Russell Sanchez Santos Schmidt Scott Shah Silva Singh Smith Sousa Stewart Sullivan Suzuki "
    "Tanaka Taylor Thomas Thompson Torres Turner Walker Wang Ward Watson White Williams Wilson "
    "Wong Wright Wu Yamamoto Young Zhang"
).split()
NICKNAMES = {
    "Robert": "Bob",
    "William": "Bill",
    "Michael": "Mike",
    "Daniel": "Dan",
    "Samuel": "Sam",
    "Thomas": "Tom",
    "Jessica": "Jess",
    "Elizabeth": "Liz",
    "Alexander": "Alex",
    "Christopher": "Chris",
    "Nathan": "Nate",
    "Rebecca": "Becca",
}


@dataclass(frozen=True)
class RoleSpec:
    """A (department, title) with a headcount: a share of the rest, or a fixed small number."""

    dept: str
    title: str
    weight: float = 0.0
    fixed: int = 0
    contractors: float = 0.0  # share hired as contractors
    interns: float = 0.0


ROLES: tuple[RoleSpec, ...] = (
    RoleSpec("Executive", "Chief Executive Officer", fixed=1),
    RoleSpec("Executive", "Chief of Staff", fixed=1),
    RoleSpec("Engineering", "Software Engineer", 0.22, contractors=0.12, interns=0.04),
    RoleSpec("Engineering", "Senior Software Engineer", 0.08),
    RoleSpec("Engineering", "QA Engineer", 0.03, contractors=0.3),
    RoleSpec("Engineering", "Engineering Manager", 0.02),
    RoleSpec("Engineering", "Site Reliability Engineer", fixed=6),
    RoleSpec("Engineering", "Data Engineer", fixed=5),
    RoleSpec("Engineering", "Director of Engineering", fixed=3),
    RoleSpec("Product", "Product Manager", 0.04),
    RoleSpec("Product", "Product Designer", 0.03, contractors=0.1),
    RoleSpec("Product", "Technical Writer", fixed=3),
    RoleSpec("Sales", "Account Executive", 0.11),
    RoleSpec("Sales", "Sales Development Representative", 0.06, interns=0.05),
    RoleSpec("Sales", "Sales Manager", 0.015),
    RoleSpec("Sales", "Solutions Architect", fixed=5),
    RoleSpec("Sales", "VP of Sales", fixed=1),
    RoleSpec("Customer Support", "Support Specialist", 0.09, contractors=0.2),
    RoleSpec("Customer Support", "Support Team Lead", 0.012),
    RoleSpec("Marketing", "Marketing Manager", 0.03),
    RoleSpec("Marketing", "Content Strategist", 0.015, contractors=0.25, interns=0.1),
    RoleSpec("Finance", "Accountant", 0.015),
    RoleSpec("Finance", "Accounts Payable Specialist", fixed=4),
    RoleSpec("Finance", "Financial Analyst", 0.01),
    RoleSpec("Finance", "Controller", fixed=1),
    RoleSpec("Finance", "Payroll Specialist", fixed=3),
    RoleSpec("People", "Recruiter", 0.02, contractors=0.2),
    RoleSpec("People", "HR Business Partner", 0.01),
    RoleSpec("IT", "IT Support Engineer", fixed=6),
    RoleSpec("IT", "Systems Engineer", fixed=4),
    RoleSpec("Security", "Security Engineer", fixed=6),
    RoleSpec("Security", "Security Architect", fixed=2),
    RoleSpec("Legal", "Counsel", fixed=3),
    RoleSpec("Legal", "General Counsel", fixed=1),
    RoleSpec("Operations", "Office Manager", fixed=2),
)

# IdP users with no HR record (auditors, board members, advisors): a department of their own.
EXTERNAL_DEPT = "External"
EXTERNAL_TITLES = ("Auditor", "Board Member", "Advisor")


@dataclass(frozen=True)
class Rule:
    """Who gets access: department and title ("*" = any employee department or title)."""

    dept: str
    title: str = "*"
    groups: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    ents: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppTemplate:
    name: str  # source app name (lower case)
    label: str  # Okta label (differs in case)
    okta_name: str
    kind: str  # scim_okta | csv_okta | csv_only
    rules: tuple[Rule, ...]
    push: bool = False  # Okta pushes the app's groups (scim_okta only)
    user_style: str = "email"  # email | handle | first.last
    reports: tuple[str, ...] = ("email", "display_name", "department")
    csv_format: str = "a"  # a | b (different headers and status words)
    cost: float = 0.0
    extras: tuple[str, ...] = ()  # roles no background role holds (for injections)
    privileged_pool: tuple[str, ...] = ()  # pushed privileged groups for injections
    time_bound: tuple[tuple[str, int], ...] = ()  # (pushed group, max_days)
    page_size: int = 0  # split Users into pages of this size (0: one file)
    sign_on: str = "SAML_2_0"
    list_groups_on_users: bool = False  # SCIM users carry the read-only `groups` attribute
    launched_years: float = 5.0
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SodSpec:
    name: str
    a: tuple[str, str]  # (app, entitlement)
    b: tuple[str, str]


SOD_RULES: tuple[SodSpec, ...] = (
    SodSpec(
        "release-and-approve-payments", ("github", "release-managers"), ("netsuite", "AP Approver")
    ),
    SodSpec(
        "vendor-create-and-pay", ("netsuite", "Vendor Maintenance"), ("netsuite", "AP Approver")
    ),
    SodSpec("deploy-and-approve-change", ("aws", "prod-deploy"), ("jira", "change-approver")),
)
