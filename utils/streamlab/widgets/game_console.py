"""The game console: play a game (a player and a score) or a burst of N games, from buttons.

Every submission is an ordinary PutItem into GameScoreRecords, so each one is an
INSERT on the stream that the learner's aggregator consumes; the console is the
"mobile game" of the workshop's story.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
from IPython.display import display

from streamlab.apps import game
from streamlab.aws.session import Lab

from .background import error_line, test_mode
from .leaderboard import Snapshot

STATUS_CLASS = "streamlab-console-status"


class GameConsole:
    """Choose a player and a score and Submit; or simulate N games with a progress bar.

    ``submit()`` and ``simulate()`` do what the buttons do, so a notebook (or a test)
    can drive the console without clicking. Failures show as one line in the
    console's status, never as a traceback.
    """

    def __init__(
        self,
        lab: Lab,
        *,
        players: Sequence[str] = game.DEFAULT_PLAYERS,
        max_score: int = game.MAX_SCORE,
        games: int = 100,
        seed: int | None = None,
    ) -> None:
        self.lab = lab
        self.players = list(players) or list(game.DEFAULT_PLAYERS)
        self.seed = seed
        self.submitted = 0
        self.simulated = 0
        self._runs = 0
        self.player = widgets.Combobox(
            options=self.players,
            value=self.players[0],
            placeholder="a player's name",
            description="Player",
            ensure_option=False,
        )
        self.score = widgets.IntSlider(
            value=max_score // 2, min=0, max=max_score, description="Score"
        )
        self.submit_button = widgets.Button(description="Submit", button_style="primary")
        self.games = widgets.BoundedIntText(value=games, min=1, max=100_000, description="Games")
        self.simulate_button = widgets.Button(description="Simulate N games")
        self.progress = widgets.IntProgress(value=0, min=0, max=games, description="Progress")
        self.status = widgets.HTML(value="")
        self.status.add_class(STATUS_CLASS)
        self.submit_button.on_click(lambda _button: self.submit())
        self.simulate_button.on_click(lambda _button: self.simulate())
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.player, self.score, self.submit_button]),
                widgets.HBox([self.games, self.simulate_button, self.progress]),
                self.status,
            ]
        )
        self.widget.add_class("streamlab-game-console")

    def submit(self, player: str | None = None, score: int | None = None) -> dict[str, Any] | None:
        """Write one game (the widgets' values unless given); returns the item, None on failure."""
        player = self.player.value if player is None else player
        if isinstance(player, str):
            player = player.strip()
        score = self.score.value if score is None else score
        try:
            item = game.record_game(self.lab, player, score)
        except Exception as exc:  # noqa: BLE001 - shown as one line in the console
            self._fail(exc)
            return None
        self.submitted += 1
        self._say(f"Recorded a game: {player} scored {score}.")
        return item

    def simulate(self, count: int | None = None) -> list[dict[str, Any]] | None:
        """Play ``count`` random games (the Games box unless given), moving the progress bar."""
        count = self.games.value if count is None else count
        seed = None if self.seed is None else self.seed + self._runs
        self._runs += 1
        self.progress.value = 0
        self.progress.max = max(count, 1) if isinstance(count, int) else 1
        self.submit_button.disabled = self.simulate_button.disabled = True
        self._say(f"Playing {count} games…")
        try:
            items = game.simulate_games(
                self.lab,
                count,
                players=self.players,
                seed=seed,
                max_score=self.score.max,
                progress=self._moved,
            )
        except Exception as exc:  # noqa: BLE001 - shown as one line in the console
            self._fail(exc)
            return None
        finally:
            self.submit_button.disabled = self.simulate_button.disabled = False
        self.simulated += len(items)
        self._say(f"Played {len(items)} games for {len(self.players)} players.")
        return items

    def _moved(self, done: int, total: int) -> None:
        self.progress.max = total
        self.progress.value = done

    def _say(self, text: str) -> None:
        self.status.value = html.escape(text)

    def _fail(self, exc: BaseException) -> None:
        self.status.value = (
            f'<span class="streamlab-error" style="color:#b00020">{html.escape(error_line(exc))}'
            "</span>"
        )

    @property
    def message(self) -> str:
        """The status line as plain text."""
        text = self.status.value
        if text.startswith("<span"):
            text = text[text.index(">") + 1 : text.rindex("</span>")]
        return html.unescape(text)

    def snapshot(self) -> Snapshot:
        text = (
            f"Game console: players {', '.join(self.players)}; scores 0-{self.score.max}; "
            f"{self.submitted} game(s) submitted, {self.simulated} simulated."
        )
        if self.message:
            text += f"\n{self.message}"
        return Snapshot(text, f"<pre>{html.escape(text)}</pre>")

    def show(self) -> GameConsole:
        """The live console in JupyterLab; a static snapshot when headless (test mode)."""
        display(self.snapshot() if test_mode() else self.widget)
        return self

    def _ipython_display_(self) -> None:
        self.show()


def show_game_console(lab: Lab, **options: Any) -> GameConsole:
    """Create and display a console; keep the result to drive it from code."""
    return GameConsole(lab, **options).show()
