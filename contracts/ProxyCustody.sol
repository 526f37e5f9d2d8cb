// SPDX-License-Identifier: MIT
pragma solidity ^0.8.22;

/// Proxy custody: a follower's funds sit in their own PolyHunterProxy (one per user, deployed by the
/// ProxyFactory with CREATE2 so its address is known before deployment); the platform's fleet workers act
/// on it only through the PolyHunterExecutor the proxy is bound to, and only with allowlisted targets and
/// selectors. The owner can always withdraw, paused or not: funds are never trapped. Whatever the allowlists
/// say, the executor can move a proxy's funds only to a listed worker or the treasury (no approvals, no pulls).
/// DIRECT mode: the proxy itself is an order's maker (EIP-1271: a listed worker signs for it); only the owner
/// can approve the exchange to settle such orders from the proxy (approveToken, approveOperator).

interface IERC20Min {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function balanceOf(address who) external view returns (uint256);
}

interface IERC1155Min {
    function safeTransferFrom(address from, address to, uint256 id, uint256 amount, bytes calldata data) external;
    function balanceOf(address who, uint256 id) external view returns (uint256);
}

interface IERC20Approve {
    function approve(address spender, uint256 amount) external returns (bool);
}

interface IERC1155Operator {
    function setApprovalForAll(address operator, bool approved) external;
}

interface IProxyFactoryView {
    function executor() external view returns (address);
    function defaultAllowCount() external view returns (uint256);
    function defaultAllowAt(uint256 i) external view returns (address target, bytes4 selector);
    function isProxy(address proxy) external view returns (bool);
}

interface IExecutorView {
    function isWorker(address worker) external view returns (bool);
    function paused() external view returns (bool);
    function treasury() external view returns (address);
}

/// Selectors that would let whoever drives a proxy hand its funds to an address of their choosing (an
/// allowance, an operator approval, a pull, a batch transfer): never on a proxy's allowlist, whatever the
/// admin asks. Only the owner moves funds anywhere it likes (withdraw, withdrawShares).
function forbiddenSelector(bytes4 s) pure returns (bool) {
    return s == bytes4(keccak256("approve(address,uint256)"))
        || s == bytes4(keccak256("increaseAllowance(address,uint256)"))
        || s == bytes4(keccak256("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)"))
        || s == bytes4(keccak256("transferFrom(address,address,uint256)"))
        || s == bytes4(keccak256("setApprovalForAll(address,bool)"))
        || s == bytes4(keccak256("safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)"));
}

interface IPolyHunterProxy {
    function execute(address target, bytes calldata data) external returns (bytes memory);
    function executor() external view returns (address);
}

library SafeCall {
    /// A token call that must succeed and, when it returns data, return true (ERC-20 style).
    function callToken(address token, bytes memory data) internal {
        require(token.code.length > 0, "SafeCall: not a contract");
        (bool ok, bytes memory ret) = token.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        require(ret.length == 0 || abi.decode(ret, (bool)), "SafeCall: token refused");
    }
}

/// @title PolyHunterProxy: one user's funds; the bound executor alone may act, within the allowlist.
contract PolyHunterProxy {
    bytes4 internal constant ERC1271_MAGIC = 0x1626ba7e;
    bytes4 internal constant ERC1155_RECEIVED = 0xf23a6e61;
    bytes4 internal constant ERC1155_BATCH_RECEIVED = 0xbc197c81;
    bytes4 internal constant ERC20_TRANSFER = bytes4(keccak256("transfer(address,uint256)"));
    bytes4 internal constant ERC1155_TRANSFER =
        bytes4(keccak256("safeTransferFrom(address,address,uint256,uint256,bytes)"));

    address public immutable factory;
    address public immutable owner;
    address public executor;
    bool public paused;
    mapping(address => mapping(bytes4 => bool)) public allowed;

    event Executed(address indexed target, bytes4 indexed selector);
    event ExecutorBound(address indexed executor);
    event AllowedSet(address indexed target, bytes4 indexed selector, bool allowed);
    event Paused(bool paused);
    event Withdrawn(address indexed token, uint256 indexed id, address indexed to, uint256 amount);
    event OwnerApproved(address indexed token, address indexed spender, uint256 amount);
    event OwnerOperatorSet(address indexed token, address indexed operator, bool approved);

    modifier onlyOwner() {
        require(msg.sender == owner, "Proxy: not owner");
        _;
    }

    modifier onlyFactory() {
        require(msg.sender == factory, "Proxy: not factory");
        _;
    }

    /// Deployed by the factory only: it binds the factory's executor and copies its default allowlist.
    constructor(address owner_) {
        require(owner_ != address(0), "Proxy: zero owner");
        factory = msg.sender;
        owner = owner_;
        IProxyFactoryView f = IProxyFactoryView(msg.sender);
        executor = f.executor();
        uint256 n = f.defaultAllowCount();
        for (uint256 i = 0; i < n; i++) {
            (address target, bytes4 selector) = f.defaultAllowAt(i);
            allowed[target][selector] = true;
        }
        emit ExecutorBound(executor);
    }

    /// The bound executor's call into an allowlisted (target, selector), while not paused.
    function execute(address target, bytes calldata data) external returns (bytes memory) {
        require(msg.sender == executor && executor != address(0), "Proxy: not executor");
        require(!paused, "Proxy: paused");
        require(data.length >= 4, "Proxy: no selector");
        bytes4 selector = bytes4(data[:4]);
        require(!forbiddenSelector(selector), "Proxy: selector never allowed");
        require(allowed[target][selector], "Proxy: target or selector not allowed");
        _checkRecipient(selector, data);
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        emit Executed(target, selector);
        return ret;
    }

    /// A transfer the executor makes goes to one of its listed workers (reimbursement) or its treasury
    /// (commission); outcome shares leave only to a listed worker (the shares a SELL sells): never elsewhere.
    function _checkRecipient(bytes4 selector, bytes calldata data) internal view {
        IExecutorView ex = IExecutorView(executor);
        if (selector == ERC20_TRANSFER) {
            (address to,) = abi.decode(data[4:], (address, uint256));
            require(to == ex.treasury() || ex.isWorker(to), "Proxy: recipient not a worker or the treasury");
        } else if (selector == ERC1155_TRANSFER) {
            (address from, address to) = abi.decode(data[4:68], (address, address));
            require(from == address(this) && ex.isWorker(to), "Proxy: recipient not a worker");
        }
    }

    // --- the owner ---------------------------------------------------------------------------------------

    /// ERC-20 out to anyone the owner names; works while paused.
    function withdraw(address token, address to, uint256 amount) external onlyOwner {
        require(to != address(0), "Proxy: zero recipient");
        SafeCall.callToken(token, abi.encodeWithSelector(IERC20Min.transfer.selector, to, amount));
        emit Withdrawn(token, 0, to, amount);
    }

    /// ERC-1155 (outcome shares) out; works while paused.
    function withdrawShares(address token, uint256 id, address to, uint256 amount) external onlyOwner {
        require(to != address(0), "Proxy: zero recipient");
        IERC1155Min(token).safeTransferFrom(address(this), to, id, amount, "");
        emit Withdrawn(token, id, to, amount);
    }

    /// DIRECT mode: the owner lets an exchange take the proxy's collateral (ERC-20 allowance) for the orders
    /// the proxy makes itself (EIP-1271 below), or revokes it (0). Only the owner, paused or not: the
    /// executor and the fleet can never approve anyone (the allowlist refuses every approval selector).
    function approveToken(address token, address spender, uint256 amount) external onlyOwner {
        require(spender != address(0), "Proxy: zero spender");
        SafeCall.callToken(token, abi.encodeWithSelector(IERC20Approve.approve.selector, spender, amount));
        emit OwnerApproved(token, spender, amount);
    }

    /// DIRECT mode: the owner lets an exchange move the proxy's outcome shares (ERC-1155 operator), or
    /// revokes it. Only the owner, paused or not.
    function approveOperator(address token, address operator, bool approved) external onlyOwner {
        require(operator != address(0), "Proxy: zero operator");
        require(token.code.length > 0, "Proxy: not a contract");
        IERC1155Operator(token).setApprovalForAll(operator, approved);
        emit OwnerOperatorSet(token, operator, approved);
    }

    /// The owner may stop the executor (pause) and resume it.
    function setPaused(bool value) external {
        require(msg.sender == owner || msg.sender == factory, "Proxy: not owner or factory");
        paused = value;
        emit Paused(value);
    }

    // --- the factory (platform admin relay) ------------------------------------------------------------

    function bindExecutor(address executor_) external onlyFactory {
        executor = executor_;
        emit ExecutorBound(executor_);
    }

    function setAllowed(address target, bytes4 selector, bool value) external onlyFactory {
        require(!value || !forbiddenSelector(selector), "Proxy: selector never allowed");
        allowed[target][selector] = value;
        emit AllowedSet(target, selector, value);
    }

    // --- signatures (DIRECT mode: the proxy is the order's maker, POLY_1271) ------------------------------

    /// EIP-1271: valid when a listed worker of the bound executor signed, and neither is paused.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (paused || executor == address(0) || signature.length != 65) return 0xffffffff;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        // reject malleable signatures (upper half s)
        if (uint256(s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) return 0xffffffff;
        address signer = ecrecover(hash, v, r, s);
        if (signer == address(0)) return 0xffffffff;
        IExecutorView ex = IExecutorView(executor);
        if (ex.paused() || !ex.isWorker(signer)) return 0xffffffff;
        return ERC1271_MAGIC;
    }

    // --- receiving outcome shares -----------------------------------------------------------------------

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        return ERC1155_RECEIVED;
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        return ERC1155_BATCH_RECEIVED;
    }

    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == 0x01ffc9a7 || id == 0x4e2312e0; // ERC-165, ERC-1155 receiver
    }
}

/// @title ProxyFactory: one PolyHunterProxy per user at a CREATE2 address known in advance; admin relays.
contract ProxyFactory {
    address public admin;
    address public executor;
    mapping(address => address) public proxyOf;
    mapping(address => bool) public isProxy;

    address[] internal defaultTargets;
    bytes4[] internal defaultSelectors;

    event ProxyCreated(address indexed user, address indexed proxy);
    event ExecutorSet(address indexed executor);
    event AdminTransferred(address indexed admin);

    modifier onlyAdmin() {
        require(msg.sender == admin, "Factory: not admin");
        _;
    }

    constructor(address executor_) {
        admin = msg.sender;
        executor = executor_;
    }

    function salt(address user) public pure returns (bytes32) {
        return bytes32(uint256(uint160(user)));
    }

    /// The address createProxy(user) deploys to (or deployed to).
    function predictProxy(address user) public view returns (address) {
        bytes32 initHash = keccak256(abi.encodePacked(type(PolyHunterProxy).creationCode, abi.encode(user)));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt(user), initHash)))));
    }

    /// Anyone may deploy a user's proxy (it is owned by the user whoever pays the gas); once per user.
    function createProxy(address user) external returns (address proxy) {
        require(user != address(0), "Factory: zero user");
        require(proxyOf[user] == address(0), "Factory: proxy exists");
        proxy = address(new PolyHunterProxy{salt: salt(user)}(user));
        proxyOf[user] = proxy;
        isProxy[proxy] = true;
        emit ProxyCreated(user, proxy);
    }

    function defaultAllowCount() external view returns (uint256) {
        return defaultTargets.length;
    }

    function defaultAllowAt(uint256 i) external view returns (address target, bytes4 selector) {
        return (defaultTargets[i], defaultSelectors[i]);
    }

    // --- admin --------------------------------------------------------------------------------------------

    function addDefaultAllowed(address target, bytes4 selector) external onlyAdmin {
        require(!forbiddenSelector(selector), "Factory: selector never allowed");
        defaultTargets.push(target);
        defaultSelectors.push(selector);
    }

    function setExecutor(address executor_) external onlyAdmin {
        executor = executor_;
        emit ExecutorSet(executor_);
    }

    function transferAdmin(address admin_) external onlyAdmin {
        require(admin_ != address(0), "Factory: zero admin");
        admin = admin_;
        emit AdminTransferred(admin_);
    }

    function bindProxyExecutor(address proxy, address executor_) external onlyAdmin {
        require(isProxy[proxy], "Factory: unknown proxy");
        PolyHunterProxy(proxy).bindExecutor(executor_);
    }

    function setProxyAllowed(address proxy, address target, bytes4 selector, bool value) external onlyAdmin {
        require(isProxy[proxy], "Factory: unknown proxy");
        PolyHunterProxy(proxy).setAllowed(target, selector, value);
    }

    function pauseProxy(address proxy, bool value) external onlyAdmin {
        require(isProxy[proxy], "Factory: unknown proxy");
        PolyHunterProxy(proxy).setPaused(value);
    }
}

/// @title PolyHunterExecutor: the fleet's only way into proxies; listed workers, pause, batch settlement.
contract PolyHunterExecutor {
    uint8 internal constant BUY = 0; // worker bought shares with its float: shares to the proxy, cost back
    uint8 internal constant SELL = 1; // worker sold the proxy's shares: proceeds to the proxy

    struct Settlement {
        bytes32 copyId; // unique per copy: settled once, ever
        address proxy;
        uint8 side;
        uint256 tokenId;
        uint256 shares; // BUY: worker -> proxy (0 for a debt collection)
        uint256 collateral; // BUY: proxy -> worker (reimbursement); SELL: worker -> proxy (proceeds)
        uint256 fee; // proxy -> treasury (commission)
    }

    address public admin;
    address public factory;
    address public immutable collateral;
    address public immutable ctf;
    address public treasury;
    bool public paused;
    mapping(address => bool) public isWorker;
    mapping(address => mapping(bytes4 => bool)) public allowed;
    mapping(bytes32 => bool) public settled;

    event WorkerSet(address indexed worker, bool listed);
    event AllowedSet(address indexed target, bytes4 indexed selector, bool allowed);
    event Paused(bool paused);
    event TreasurySet(address indexed treasury);
    event Settled(
        bytes32 indexed copyId,
        address indexed proxy,
        address indexed worker,
        uint8 side,
        uint256 tokenId,
        uint256 shares,
        uint256 collateral,
        uint256 fee
    );
    event AlreadySettled(bytes32 indexed copyId);
    event SharesPulled(address indexed proxy, address indexed worker, uint256 tokenId, uint256 amount);
    event Redeemed(address indexed proxy, bytes32 indexed conditionId, uint256 payout);

    bytes4 internal constant REDEEM_POSITIONS = bytes4(keccak256("redeemPositions(address,bytes32,bytes32,uint256[])"));

    modifier onlyAdmin() {
        require(msg.sender == admin, "Executor: not admin");
        _;
    }

    modifier onlyWorker() {
        require(isWorker[msg.sender], "Executor: not a listed worker");
        require(!paused, "Executor: paused");
        _;
    }

    constructor(address collateral_, address ctf_, address treasury_) {
        admin = msg.sender;
        collateral = collateral_;
        ctf = ctf_;
        treasury = treasury_;
    }

    // --- admin --------------------------------------------------------------------------------------------

    function setFactory(address factory_) external onlyAdmin {
        require(factory == address(0), "Executor: factory set");
        factory = factory_;
    }

    function setWorker(address worker, bool listed) external onlyAdmin {
        isWorker[worker] = listed;
        emit WorkerSet(worker, listed);
    }

    function setAllowed(address target, bytes4 selector, bool value) external onlyAdmin {
        allowed[target][selector] = value;
        emit AllowedSet(target, selector, value);
    }

    function setPaused(bool value) external onlyAdmin {
        paused = value;
        emit Paused(value);
    }

    function setTreasury(address treasury_) external onlyAdmin {
        require(treasury_ != address(0), "Executor: zero treasury");
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    function transferAdmin(address admin_) external onlyAdmin {
        require(admin_ != address(0), "Executor: zero admin");
        admin = admin_;
    }

    // --- workers ------------------------------------------------------------------------------------------

    function _checkProxy(address proxy) internal view {
        require(factory != address(0) && IProxyFactoryView(factory).isProxy(proxy), "Executor: unknown proxy");
    }

    /// A generic allowlisted call made by a proxy (approvals for DIRECT mode and the like).
    function execute(address proxy, address target, bytes calldata data) external onlyWorker returns (bytes memory) {
        require(data.length >= 4 && allowed[target][bytes4(data[:4])], "Executor: target or selector not allowed");
        _checkProxy(proxy);
        return IPolyHunterProxy(proxy).execute(target, data);
    }

    /// Before a SELL: the proxy's shares to the worker that sells them on the CLOB.
    function pullShares(address proxy, uint256 tokenId, uint256 amount) external onlyWorker {
        _checkProxy(proxy);
        IPolyHunterProxy(proxy).execute(
            ctf,
            abi.encodeWithSelector(IERC1155Min.safeTransferFrom.selector, proxy, msg.sender, tokenId, amount, "")
        );
        emit SharesPulled(proxy, msg.sender, tokenId, amount);
    }

    /// A resolved market's positions redeemed by the proxy itself (ConditionalTokens.redeemPositions pays
    /// its caller): the payout stays in the proxy.
    function redeem(address proxy, bytes32 conditionId, uint256[] calldata indexSets)
        external
        onlyWorker
        returns (uint256 payout)
    {
        _checkProxy(proxy);
        uint256 before = IERC20Min(collateral).balanceOf(proxy);
        IPolyHunterProxy(proxy).execute(
            ctf, abi.encodeWithSelector(REDEEM_POSITIONS, collateral, bytes32(0), conditionId, indexSets)
        );
        payout = IERC20Min(collateral).balanceOf(proxy) - before;
        emit Redeemed(proxy, conditionId, payout);
    }

    /// Settle many copies in one transaction; a copy settled before is skipped (never twice).
    function settle(Settlement[] calldata items) external onlyWorker {
        for (uint256 i = 0; i < items.length; i++) {
            _settleOne(items[i]);
        }
    }

    function _settleOne(Settlement calldata s) internal {
        if (settled[s.copyId]) {
            emit AlreadySettled(s.copyId);
            return;
        }
        _checkProxy(s.proxy);
        settled[s.copyId] = true;
        IPolyHunterProxy proxy = IPolyHunterProxy(s.proxy);
        if (s.side == BUY) {
            if (s.shares > 0) {
                IERC1155Min(ctf).safeTransferFrom(msg.sender, s.proxy, s.tokenId, s.shares, "");
            }
            if (s.collateral > 0) {
                proxy.execute(collateral, abi.encodeWithSelector(IERC20Min.transfer.selector, msg.sender, s.collateral));
            }
        } else if (s.side == SELL) {
            if (s.collateral > 0) {
                SafeCall.callToken(
                    collateral,
                    abi.encodeWithSelector(IERC20Min.transferFrom.selector, msg.sender, s.proxy, s.collateral)
                );
            }
        } else {
            revert("Executor: bad side");
        }
        if (s.fee > 0) {
            proxy.execute(collateral, abi.encodeWithSelector(IERC20Min.transfer.selector, treasury, s.fee));
        }
        emit Settled(s.copyId, s.proxy, msg.sender, s.side, s.tokenId, s.shares, s.collateral, s.fee);
    }
}
