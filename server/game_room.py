"""The drawing game in a room: the ``/game`` commands, guesses taken out of the chat, the heartbeat's
tick, who may draw, and the ``game`` messages (pgboard/protocol_game.py) each member is sent.

``/game start [turns] [seconds] [en|fr|de|custom]`` (operators), ``/game stop``, ``/game skip``,
``/game words w1, w2, ...`` (an operator's own list, then ``/game start ... custom``) and ``/game choose
N`` (the drawer's pick; the reference client sends it for a click or a key). The game lives in memory
only: a server restart ends it, and a client that comes back finds no game (and says so).
Everything here runs under the room's lock.
"""

from __future__ import annotations

import functools
import secrets
from importlib import resources
from typing import TYPE_CHECKING

from pgboard_server import game as rules
from pgboard_server.game import Game, Guess, Phase

from pgboard.protocol import MAX_USERS_LISTED, Error, Notice, encode
from pgboard.protocol_game import GameState, Score

if TYPE_CHECKING:
    from pgboard_server.chat import ChatCommands, Handler
    from pgboard_server.room import Room
    from pgboard_server.session import Session

HELP = (
    ("/game start [turns] [seconds] [en|fr|de|custom]", "(operators) a drawing game: one draws, all guess"),
    ("/game stop, /game skip", "(operators) end the game, or this turn"),
    ("/game words W1, W2, ...", "(operators) your own word list, for /game start ... custom"),
)
LISTS = ("en", "fr", "de")
NOT_YOUR_TURN = "it is not your turn to draw: guess in the chat"


@functools.cache
def word_list(name: str) -> tuple[str, ...]:
    """A shipped word list (server/data/words/NAME.txt): one word a line, # for comments."""
    text = resources.files("pgboard_server").joinpath(f"data/words/{name}.txt").read_text("utf-8")
    words = (line.strip() for line in text.splitlines())
    return tuple(w for w in words if w and not w.startswith("#") and len(w) <= rules.MAX_WORD)


def state_for(room: Room, user: str, now: float, scores: tuple[Score, ...] | None = None) -> GameState:
    """The game as ``user`` sees it (the drawer: the word and the choices; the others: the hint).
    ``scores``: the scoreboard, when the caller made it already (it is the same for everyone)."""
    game = room.game
    if game is None:
        return GameState()
    turn = game.turn
    drawer = game.drawer
    mine = turn is not None and user == turn.drawer
    hint = game.hint() if not mine or turn is None else turn.word
    left = game.next_tick(now)
    return GameState(
        phase=game.phase.value,
        round=game.round,
        rounds=game.rounds,
        drawer=drawer,
        hint=hint,
        choices=turn.choices if mine and turn is not None and game.phase is Phase.CHOOSING else (),
        left=int(left + 0.999) if left is not None else 0,
        scores=scoreboard(room) if scores is None else scores,
        guessed=tuple(turn.guessed) if turn is not None else (),
    )


def scoreboard(room: Room) -> tuple[Score, ...]:
    game = room.game
    if game is None:
        return ()
    shown = {u: p for u, p in game.scores.items() if p or u not in game.away}  # not who passed by
    standings = rules.standings(shown, lambda u: game.players.get(u) or room.rights.nick_of(u))
    return tuple(Score(u, n, p) for u, n, p in standings[:MAX_USERS_LISTED])


def send_state(room: Room, now: float) -> None:
    """Everyone's view of the game, after a change: the scoreboard sorted once and two frames encoded
    (the drawer's, the others'), whatever the number of members (under the room's lock)."""
    game = room.game
    drawer = game.turn.drawer if game is not None and game.turn is not None else ""
    scores = scoreboard(room)
    frames: dict[bool, bytes] = {}
    for user, session in list(room.members.items()):
        mine = user == drawer
        if mine not in frames:
            frames[mine] = encode(state_for(room, user, now, scores))
        session.send_frame(frames[mine])


def may_draw(room: Room, user: str) -> Error | None:
    """The refusal of an operation while a game runs and ``user`` is not drawing now."""
    game = room.game
    if game is None or game.phase is Phase.OVER or game.may_draw(user):
        return None
    return Error("not_your_turn", NOT_YOUR_TURN)


# -- the commands


def command(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    word, _, args = rest.strip().partition(" ")
    word = word.lower()
    now = session.server.clock()
    with room.lock:
        if session.room is not room:
            return
        if word == "choose":
            _choose(session, room, args, now)
        elif word not in ("start", "stop", "skip", "words"):
            session.send(Error("bad_command", "usage: /game start [turns] [seconds] [list], stop, skip"))
        elif not room.rights.is_operator(session.user):
            session.send(Error("not_operator", f"only an operator of {room.name} may /game {word}"))
        elif word == "start":
            _start(session, room, args, now)
        elif word == "words":
            _words(session, room, args)
        elif room.game is None or room.game.phase is Phase.OVER:
            session.send(Error("bad_command", "no game is running: /game start"))
        elif word == "skip":
            room.game.skip(now)
            _after(room, now)
        else:
            room.game = None
            room.broadcast(Notice(f"{session.nick} stopped the game"))
            send_state(room, now)


def _start(session: Session, room: Room, args: str, now: float) -> None:
    if room.game is not None and room.game.phase is not Phase.OVER:
        session.send(Error("bad_command", "a game is running: /game stop first"))
        return
    numbers = [a for a in args.split() if a.isdigit()]
    names = [a.lower() for a in args.split() if not a.isdigit()]
    rounds = int(numbers[0]) if numbers else rules.DEFAULT_ROUNDS
    seconds = int(numbers[1]) if len(numbers) > 1 else rules.DEFAULT_SECONDS
    listed = names[0] if names else "en"
    if not 1 <= rounds <= rules.MAX_ROUNDS or not rules.MIN_SECONDS <= seconds <= rules.MAX_SECONDS:
        session.send(
            Error(
                "bad_command",
                f"turns 1-{rules.MAX_ROUNDS}, seconds {rules.MIN_SECONDS}-{rules.MAX_SECONDS}: "
                "/game start 3 80 en",
            )
        )
        return
    if listed == "custom":
        words: tuple[str, ...] = room.custom_words
    elif listed in LISTS:
        words = word_list(listed)
    else:
        session.send(Error("bad_command", f"word lists: {', '.join(LISTS)}, or custom (/game words)"))
        return
    if len(words) < rules.CHOICES:
        session.send(Error("bad_command", f"a word list needs {rules.CHOICES} words at least: /game words"))
        return
    players = {u: s.nick for u, s in room.members.items()}
    if len(players) < rules.MIN_PLAYERS:
        session.send(Error("bad_command", f"a game needs {rules.MIN_PLAYERS} players at least"))
        return
    room.game = Game(words, players, rounds, seconds, rng=secrets.SystemRandom())
    room.game.start(now)
    turn = room.game.turn
    if turn is not None and room.board.objects:  # the board before the game: cleared in the starter's
        turn.cleared = True  # name (not the first drawer's), so their one Ctrl+Z brings it back after
        _clear(room, session.user)
        room.broadcast(Notice(f"The board was cleared for the game; {session.nick}'s Ctrl+Z brings it back"))
    turns = f"{rounds} turn{'s' if rounds != 1 else ''}"  # a turn: one drawer ("1 round" read as one each)
    room.broadcast(Notice(f"{session.nick} started a game: {turns} of {seconds} s. Guess in chat!"))
    _after(room, now)


def _words(session: Session, room: Room, args: str) -> None:
    words = tuple(dict.fromkeys(w.strip() for w in args.split(",") if w.strip()))
    if len(words) < rules.CHOICES or len(words) > rules.MAX_CUSTOM_WORDS:
        most = rules.MAX_CUSTOM_WORDS
        session.send(Error("bad_command", f"/game words W1, W2, ...: {rules.CHOICES}-{most} words"))
        return
    if any(len(w) > rules.MAX_WORD or not rules.fold(w) for w in words):
        session.send(Error("bad_command", f"a word has 1-{rules.MAX_WORD} characters, and a letter"))
        return
    room.custom_words = words
    session.send(Notice(f"{len(words)} words kept for this room: /game start 3 80 custom"))


def _choose(session: Session, room: Room, args: str, now: float) -> None:
    game = room.game
    if game is None or not args.strip().isdigit() or not game.choose(session.user, int(args) - 1, now):
        session.send(Error("bad_command", "/game choose 1, 2 or 3: only the drawer, while choosing"))
        return
    _after(room, now)


# -- the hooks


def guess(session: Session, room: Room, text: str) -> bool:
    """A chat line while a turn runs: True when it was taken as a guess (right or close: never shown
    to the others), False when it goes to the room as any line (a wrong guess, or no game)."""
    with room.lock:
        game = room.game
        if game is None:
            return False
        now = session.server.clock()
        result = game.guess(session.user, text, now)
        if result is Guess.RIGHT:
            turn = game.turn
            points = turn.guessed[session.user] if turn is not None else 0
            word = turn.word if turn is not None else text  # the word itself, not the others' blanks
            session.send(Notice(f"You guessed it: {word} (+{points})"))
            room.broadcast(Notice(f"{session.nick} guessed it!"), exclude=session)
            _after(room, now)
            return True
        if result is Guess.CLOSE:
            session.send(Notice(f"{text.strip()[: rules.MAX_WORD]} is close!"))
            return True
        if result is Guess.NOT_A_GUESS and game.phase is Phase.DRAWING and game.turn is not None:
            if rules.fold(text) == rules.fold(game.turn.word):
                return True  # the drawer (or one who has it) saying the word: never shown
        return False


def greet(room: Room, session: Session) -> None:
    """A joiner plays from the next turn on, and sees the game now. The others are told at the next
    change of the game (a guess, a turn): a stranger passing through costs them nothing."""
    game = room.game
    if game is None or game.phase is Phase.OVER:
        return
    game.join(session.user, session.nick)
    session.send(state_for(room, session.user, session.server.clock()))


def left(room: Room, user: str, now: float) -> None:
    game = room.game
    if game is None or game.phase is Phase.OVER:
        return
    drawer, before = game.drawer, (game.phase, game.round)
    game.leave(user, now)
    if user == drawer and game.turn is not None:
        game.turn.told = True  # said here, once
        room.broadcast(Notice(f"The drawer left: the word was {game.hint()}"))
    if (game.phase, game.round) != before:  # a turn ended, the game did: everyone is told
        _after(room, now)


def tick(room: Room, now: float) -> None:
    """From the heartbeat, every tick: time moves the game on."""
    with room.lock:
        game = room.game
        if game is not None and game.phase is not Phase.OVER and game.tick(now):
            _after(room, now)


def _after(room: Room, now: float) -> None:
    """Tell everyone; at a turn's end say the word, at a new turn clear the board, at the end the podium."""
    game = room.game
    if game is None:
        return
    turn = game.turn
    if game.phase is Phase.REVEAL and turn is not None and not turn.told:
        turn.told = True
        room.broadcast(Notice(f"The word was: {turn.word}"))
    if game.phase is Phase.CHOOSING and turn is not None and not turn.cleared:
        turn.cleared = True
        _clear(room, turn.drawer)
    if game.phase is Phase.OVER:
        podium = rules.standings(game.scores, lambda u: game.players.get(u) or room.rights.nick_of(u))
        ranks = ", ".join(f"{i}. {nick} {points}" for i, (_, nick, points) in enumerate(podium[:3], 1))
        room.broadcast(Notice(f"Game over! {ranks}"))
        send_state(room, now)
        room.game = None
        return
    send_state(room, now)


def _clear(room: Room, drawer: str) -> None:
    """A new turn starts on an empty board: one ``clear`` of everything, in ``drawer``'s name (the new
    drawer's; the first turn's, the starter's). The last turn's drawing is in the room's history."""
    session = room.members.get(drawer)
    ids = tuple(room.board.objects)
    if session is not None and ids:  # more than one clear may list (None): the drawer clears the rest
        room.server_clear(session, f"game-{secrets.token_hex(4)}", ids)


COMMANDS: dict[str, Handler] = {"game": command}
