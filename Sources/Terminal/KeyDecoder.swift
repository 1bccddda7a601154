import CNcurses
import TUI

/// What one `get_wch` result stands for. Mouse and resize need more calls to ncurses
/// (`getmouse`, the new size), so the decoder only names them.
enum DecodedInput: Equatable {
    case key(Key)
    case mouse
    case resize
}

/// Pure decoding of what ncurses hands over, kept apart from the terminal so every branch is
/// unit-tested without one.
enum KeyDecoder {
    /// Highest function key reported (`Key.function` documents F1...F24; ncurses numbers shifted
    /// and controlled F-keys above that, which we do not pretend to understand).
    static let maxFunctionKey: Int32 = 24

    /// Decodes `get_wch`'s value: `isKeyCode` is true when it returned KEY_CODE_YES (a KEY_*
    /// constant), false for a character. Nil for what the app has no key for (NUL, Ctrl-\ and
    /// friends, C1 controls, keys ncurses knows but `Key` does not).
    static func decode(_ code: Int32, isKeyCode: Bool) -> DecodedInput? {
        isKeyCode ? decodeKeyCode(code) : decodeCharacter(code)
    }

    private static func decodeCharacter(_ code: Int32) -> DecodedInput? {
        switch code {
        // In raw mode with nonl() Enter arrives as CR; Ctrl-J as LF. Both mean Enter.
        case 10, 13: return .key(.enter)
        case 9: return .key(.tab)
        case 27: return .key(.escape)
        // DEL is what most terminals send for Backspace; BS is Ctrl-H or older terminals.
        case 127, 8: return .key(.backspace)
        case 1...26:
            // raw() turns off ISIG, so Ctrl-C/Ctrl-Z/Ctrl-\ arrive here instead of as signals.
            let letter = Character(Unicode.Scalar(UInt8(0x60 + code)))
            return .key(.ctrl(letter))
        case 0, 28...31:
            return nil
        case 0x80...0x9F:
            return nil  // C1 controls: nothing printable
        default:
            guard code >= 0x20, let scalar = Unicode.Scalar(UInt32(code)) else { return nil }
            return .key(.char(Character(scalar)))
        }
    }

    private static func decodeKeyCode(_ code: Int32) -> DecodedInput? {
        switch code {
        case KEY_UP: return .key(.up)
        case KEY_DOWN: return .key(.down)
        case KEY_LEFT: return .key(.left)
        case KEY_RIGHT: return .key(.right)
        case KEY_HOME: return .key(.home)
        case KEY_END: return .key(.end)
        case KEY_PPAGE: return .key(.pageUp)
        case KEY_NPAGE: return .key(.pageDown)
        case KEY_IC: return .key(.insert)
        case KEY_DC: return .key(.delete)
        case KEY_BTAB: return .key(.backTab)
        case KEY_BACKSPACE: return .key(.backspace)
        case KEY_ENTER: return .key(.enter)  // keypad Enter
        case KEY_RESIZE: return .resize
        case KEY_MOUSE: return .mouse
        case (KEY_F0 + 1)...(KEY_F0 + maxFunctionKey): return .key(.function(Int(code - KEY_F0)))
        default: return nil
        }
    }

    /// Decodes a `getmouse` event. Clicks and the wheel are what the app uses: ncurses reports
    /// the wheel as button 4 (up) and 5 (down) presses. The screen asks for presses and releases
    /// only; a synthesised click (should a mask include them) counts as a press. Motion (`REPORT_MOUSE_POSITION`) is only reported by
    /// terminfo entries that enable xterm's motion modes; it becomes a drag of the held button,
    /// and motion with no button held is dropped (`MouseEvent` has no hover).
    static func decodeMouse(bstate: mmask_t, x: Int32, y: Int32) -> MouseEvent? {
        let x = Int(x), y = Int(y)
        func has(_ mask: mmask_t) -> Bool { mask != 0 && bstate & mask != 0 }
        if has(saescope_button_pressed(4)) { return MouseEvent(.wheelUp, x: x, y: y) }
        if has(saescope_button_pressed(5)) { return MouseEvent(.wheelDown, x: x, y: y) }
        if has(saescope_report_mouse_position()) {
            for b in 1...3 where has(saescope_button_pressed(Int32(b))) {
                return MouseEvent(.drag(button: b), x: x, y: y)
            }
            return nil
        }
        for b in 1...3 {
            let n = Int32(b)
            if has(saescope_button_pressed(n)) { return MouseEvent(.press(button: b), x: x, y: y) }
            if has(saescope_button_released(n)) { return MouseEvent(.release(button: b), x: x, y: y) }
            if has(saescope_button_clicked(n) | saescope_button_double_clicked(n) | saescope_button_triple_clicked(n)) {
                return MouseEvent(.press(button: b), x: x, y: y)
            }
        }
        return nil  // wheel "releases", modifier-only reports
    }
}
