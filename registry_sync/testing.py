"""Deterministic synthetic registry data, for tests and the benchmark.

Names, ID numbers (with correct check characters), certificate numbers and
employers are drawn from a seeded generator, so every run writes the same
file and a test can name the rows it expects.
"""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from .normalize import id_check_char
from .rows import CERT_COLUMNS, COMPANY_COLUMNS

# Common surnames, weighted roughly by frequency (王李张刘陈 first).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜"
    "崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰文斌辉鹏飞宇浩然俊峰海波亮东晓晨雪梅"
    "林宏新春燕丹凤琴云莉萍荣成德光天永福生龙海涛嘉怡欣悦子轩梓涵雨泽博文佳琪思远立伟振家兴旭阳凯"
)
REGIONS = ("110101", "110105", "120101", "130102", "140105", "310101", "320102", "330106",
           "340102", "370102", "410102", "420102", "430102", "440103", "500103", "510104")
CATEGORIES = ("电工作业", "低压电工作业", "高压电工作业", "焊接与热切割作业", "熔化焊接与热切割作业",
              "高处作业", "登高架设作业", "制冷与空调作业", "危险化学品安全作业", "金属非金属矿山安全作业")
STATUSES = ("有效",) * 17 + ("过期", "注销", "暂扣")


def id_number(region: str, born: date, order: int) -> str:
    first17 = f"{region}{born:%Y%m%d}{order:03d}"
    return first17 + id_check_char(first17)


def uscc_for(i: int) -> str:
    """A syntactically valid USCC (check character computed, MOD 31-3)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    first17 = f"91110000{i:09d}"
    total = sum(alphabet.index(c) * w for c, w in zip(first17, weights))
    return first17 + alphabet[(31 - total % 31) % 31]


def company_name(i: int) -> str:
    cities = "北京天津上海重庆河北山西江苏浙江安徽山东河南湖北湖南广东四川"
    words = "建工城建宏远华信中铁安泰鼎盛恒通联合振兴永安新世纪金桥长城东方"
    a = cities[(i * 2) % len(cities): (i * 2) % len(cities) + 2]
    b = words[(i * 7) % (len(words) - 1): (i * 7) % (len(words) - 1) + 2]
    return f"{a}{b}建设工程有限公司" if i % 3 else f"{a}{b}{i % 97}号安装工程有限公司"


def certificate_rows(n: int, *, seed: int = 20261101) -> Iterator[dict[str, str]]:
    """``n`` canonical certificate rows (special-operation certificates, T + ID)."""
    rng = random.Random(seed)
    n_surnames = len(SURNAMES)
    weights = [1.0 / (k + 1) ** 0.9 for k in range(n_surnames)]
    surnames = rng.choices(SURNAMES, weights=weights, k=4096)
    for i in range(n):
        surname = surnames[i % 4096] if i % 4096 else rng.choice(SURNAMES)
        given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.75 else "")
        # (region, order, birth date) is injective in i, so IDs never collide.
        region = REGIONS[(i // 1000) % len(REGIONS)]
        order = i % 1000
        born = date(1950, 1, 1) + timedelta(days=(i // 16000) * 97 % 20000)
        id_no = id_number(region, born, order)
        issued = date(2017, 1, 1) + timedelta(days=rng.randrange(0, 3000))
        employer = rng.randrange(0, 20000)
        yield {
            "cert_no": "T" + id_no,
            "cert_type": "special_operation",
            "holder_name": surname + given,
            "holder_id_no": id_no,
            "category": rng.choice(CATEGORIES),
            "employer_uscc": uscc_for(employer),
            "employer_name": company_name(employer),
            "issued_on": issued.isoformat(),
            "valid_from": issued.isoformat(),
            "valid_until": issued.replace(year=issued.year + 6).isoformat()
            if not (issued.month == 2 and issued.day == 29) else issued.replace(year=issued.year + 6, day=28).isoformat(),
            "status": rng.choice(STATUSES),
            "issuing_authority": "应急管理局",
        }


def company_rows(n: int, *, seed: int = 7) -> Iterator[dict[str, str]]:
    rng = random.Random(seed)
    for i in range(n):
        start = date(2022, 1, 1) + timedelta(days=rng.randrange(0, 1400))
        yield {
            "uscc": uscc_for(i),
            "name": company_name(i),
            "legal_representative": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            "address": "某市某区某路1号",
            "industry": "construction",
            "licence_no": f"(京)JZ安许证字〔{start.year}〕{i:06d}",
            "licence_valid_from": start.isoformat(),
            "licence_valid_until": start.replace(year=start.year + 3).isoformat()
            if not (start.month == 2 and start.day == 29) else start.replace(year=start.year + 3, day=28).isoformat(),
            "licence_status": "有效",
        }


def write_csv(path: str | Path, rows, columns=CERT_COLUMNS) -> Path:
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_company_csv(path: str | Path, rows) -> Path:
    return write_csv(path, rows, COMPANY_COLUMNS)


def fresh_engine(which: str, tmp_path: str | Path):
    """A clean store for one test: a new SQLite file, or the PostgreSQL test database emptied."""
    from .store import create_tables, drop_tables, make_engine

    if which == "sqlite":
        engine = make_engine(f"sqlite:///{Path(tmp_path) / 'registry.db'}")
    else:
        engine = make_engine(os.environ["SHENCHA_TEST_PG_URL"])
    drop_tables(engine)
    create_tables(engine)
    return engine


def store_params():
    """pytest params: SQLite always, PostgreSQL when SHENCHA_TEST_PG_URL is set."""
    import pytest

    params = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get("SHENCHA_TEST_PG_URL"):
        params.append(pytest.param("postgres", id="postgres", marks=pytest.mark.postgres))
    return params
