"""Write the schema's SDL to `schema.graphql` at the top of the repo: `python -m app.gql.export`.

The file is the contract front-ends code against; tests/test_schema.py fails when it drifts from the code.
"""

from __future__ import annotations

from pathlib import Path

from app.gql.schema import schema

SDL_PATH = Path(__file__).resolve().parents[2] / "schema.graphql"


def sdl() -> str:
    return schema.as_str() + "\n"


if __name__ == "__main__":
    SDL_PATH.write_text(sdl())
    print(f"wrote {SDL_PATH}")
